"""`nu3d worker`: run generation worker slots against the configured database and storage."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence

from shop_app.settings import ConfigError, load_settings
from shop_app.worker.engines import ENGINE_SPEC
from shop_app.worker.slot import WORKER_KINDS

logger = logging.getLogger(__name__)

DEVICE_RE = re.compile(r"auto|cpu|cuda|cuda:\d+")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nu3d worker",
        description="Claim generation jobs from the database and run the engine (one child process per slot).",
    )
    parser.add_argument(
        "--device", default=None, help="torch device: auto, cpu, cuda, cuda:N (default NU3D_ENGINE_DEVICE)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="number of slots (child processes); default 1"
    )
    parser.add_argument(
        "--engine",
        default=None,
        help="real, or a plug-in package.module:factory (default NU3D_JOB_ENGINE)",
    )
    parser.add_argument(
        "--engine-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="passed to a plug-in engine's factory (repeatable)",
    )
    parser.add_argument("--poll-s", type=float, default=0.5, help="idle wait between claims (seconds)")
    parser.add_argument(
        "--kind",
        action="append",
        dest="kinds",
        choices=list(WORKER_KINDS),
        help=f"job kinds to run (default: {', '.join(WORKER_KINDS)})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from shop_app.logconfig import configure_logging
    from shop_app.worker.supervisor import Supervisor, WorkerOptions

    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.concurrency < 1 or args.concurrency > 64:
        sys.stderr.write("nu3d worker: error: --concurrency must be between 1 and 64\n")
        return 2
    if args.poll_s <= 0:
        sys.stderr.write("nu3d worker: error: --poll-s must be positive\n")
        return 2
    if args.engine is not None and not ENGINE_SPEC.fullmatch(args.engine):
        sys.stderr.write(
            f"nu3d worker: error: --engine must be real or package.module:factory (got {args.engine!r})\n"
        )
        return 2
    engine_options = []
    for option in args.engine_option:
        name, sep, value = option.partition("=")
        if not sep or not name.isidentifier():
            sys.stderr.write(f"nu3d worker: error: --engine-option must be NAME=VALUE (got {option!r})\n")
            return 2
        engine_options.append((name, value))
    if args.device is not None and not DEVICE_RE.fullmatch(args.device):
        sys.stderr.write(
            f"nu3d worker: error: --device must be auto, cpu, cuda or cuda:N (got {args.device!r})\n"
        )
        return 2
    try:
        settings = load_settings()
    except ConfigError as err:
        sys.stderr.write(f"nu3d: configuration error: {err}\n")
        return 2
    # An unreachable or unmigrated database at start-up is a configuration problem: say so once and stop.
    # (Outages after start-up are ridden out by the supervisor's retries.)
    from shop_app.migrate import MigrationError, check_at_head

    try:
        check_at_head(settings)
    except MigrationError as err:
        sys.stderr.write(f"nu3d worker: error: {err}\n")
        return 1
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    options = WorkerOptions(
        concurrency=args.concurrency,
        device=args.device or settings.engine_device,
        engine=args.engine or settings.job_engine,
        engine_options=tuple(engine_options),
        poll_s=args.poll_s,
        kinds=tuple(args.kinds or WORKER_KINDS),
    )
    logger.info(
        "worker starting: %d slot(s), engine=%s, device=%s",
        options.concurrency,
        options.engine,
        options.device,
    )
    return Supervisor(settings, options).run()
