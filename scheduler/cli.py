"""`nu3d scheduler`: product scans, token refresh and the job lease reaper on an APScheduler BlockingScheduler,
plus the webhook inbox processor on its own thread."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from scheduler import jobs
from shop_app.db import make_engine
from shop_app.logconfig import configure_logging
from shop_app.models.base import utcnow
from shop_app.settings import Settings, load_settings

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nu3d scheduler", description="Run the periodic background jobs.")
    parser.add_argument(
        "--scan-every", type=float, default=300.0, metavar="S", help="product scan period (s)"
    )
    parser.add_argument(
        "--refresh-every", type=float, default=60.0, metavar="S", help="token refresh check period (s)"
    )
    parser.add_argument(
        "--reap-every", type=float, default=15.0, metavar="S", help="job lease reaper period (s)"
    )
    parser.add_argument(
        "--publish-every", type=float, default=10.0, metavar="S", help="approved-model publishing period (s)"
    )
    parser.add_argument(
        "--sweep-every", type=float, default=3600.0, metavar="S", help="unreferenced-file sweep period (s)"
    )
    parser.add_argument(
        "--backfill-every",
        type=float,
        default=5.0,
        metavar="S",
        help="merchant-requested backfill period (s)",
    )
    parser.add_argument("--once", action="store_true", help="run every job once, print a summary and exit")
    return parser


def make_scheduler(settings: Settings, engine: Engine, args: argparse.Namespace) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    for func, seconds in (
        (jobs.scan_products, args.scan_every),
        (jobs.refresh_tokens, args.refresh_every),
        (jobs.reap_leases, args.reap_every),
        (jobs.publish_models, args.publish_every),
        (jobs.sweep_blobs, args.sweep_every),
        (jobs.backfill_products, args.backfill_every),
    ):
        # max_instances=1 + coalesce: a slow run is never overlapped, and missed runs collapse into one.
        scheduler.add_job(
            _safe(func),
            "interval",
            seconds=seconds,
            args=(settings, engine),
            id=func.__name__,
            name=func.__name__,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),  # first run at start-up, then every `seconds`
        )
    return scheduler


def _safe(func: Callable[[Settings, Engine], Any]) -> Callable[[Settings, Engine], None]:
    def run(settings: Settings, engine: Engine) -> None:
        try:
            func(settings, engine)
        except Exception:  # one failing run must not stop the scheduler; the next run tries again
            logger.exception("scheduled job %s failed", func.__name__)

    run.__name__ = func.__name__
    return run


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    settings = load_settings()  # a ConfigError is printed as one line by `nu3d`
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    # apscheduler logs an INFO line for every run of every job (every 10 s); only its warnings matter.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    engine = make_engine(settings)
    try:
        if args.once:
            scans = jobs.scan_products(settings, engine)
            tokens = jobs.refresh_tokens(settings, engine)
            reaped = jobs.reap_leases(settings, engine)
            published = jobs.publish_models(settings, engine)
            webhooks = jobs.process_webhooks(settings, engine)
            swept = jobs.sweep_blobs(settings, engine)
            for report in scans:
                status = f"error: {report.error}" if report.error else "ok"
                print(f"scan {report.shop}: {report.products} products, {report.queued} queued ({status})")  # noqa: T201 - CLI output
            for shop, result in tokens.items():
                print(f"token {shop}: {result}")  # noqa: T201 - CLI output
            print(f"reaper: {reaped.total} expired leases handled")  # noqa: T201 - CLI output
            print(  # noqa: T201 - CLI output
                f"publish: {len(published.processing)} uploaded, {len(published.published)} published, "
                f"{len(published.failed)} failed"
            )
            print(f"webhooks: {webhooks} deliveries processed")  # noqa: T201 - CLI output
            print(  # noqa: T201 - CLI output
                f"blob sweep: {swept.scanned} files, {len(swept.deleted)} unreferenced removed, "
                f"{swept.too_recent} within the grace period"
                + (f", errors: {'; '.join(swept.errors)}" if swept.errors else "")
            )
            return 0
        scheduler = make_scheduler(settings, engine, args)
        stop = threading.Event()
        # The webhook inbox runs on its own thread, not as an interval job: woken by NOTIFY on PostgreSQL,
        # it processes a delivery moments after the web process acknowledged it.
        inbox = threading.Thread(
            target=jobs.make_inbox_processor(settings, engine).run, args=(stop,), name="webhook-inbox"
        )
        inbox.start()

        def on_sigterm(*_: object) -> None:
            stop.set()
            if scheduler.running:
                # Not from the handler itself: the signal can land while the main thread holds the thread
                # pool's lock (submitting a job), and shutdown() takes that lock too, a deadlock. A helper
                # thread waits for the lock; the main loop then sees the shutdown and start() returns.
                threading.Thread(target=scheduler.shutdown, kwargs={"wait": False}, daemon=True).start()

        def on_started(_event: object) -> None:
            logger.info(
                "scheduler running: scan every %.0f s, token refresh every %.0f s, publish every %.0f s",
                args.scan_every,
                args.refresh_every,
                args.publish_every,
            )

        signal.signal(signal.SIGTERM, on_sigterm)
        scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
        try:
            if not stop.is_set():  # SIGTERM before start-up: do not start at all
                scheduler.start()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            inbox.join(timeout=30)
        return 0
    finally:
        engine.dispose()
