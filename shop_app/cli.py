"""The `nu3d` command: one entry point for every process (see `nu3d --help`)."""

from __future__ import annotations

import argparse
import importlib
import logging
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shop_app.settings import ConfigError, Settings, load_database_settings, load_settings

if TYPE_CHECKING:
    from sqlmodel import Session

logger = logging.getLogger(__name__)

DEMO_ENV_FILE = Path("var/demo.env")


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line instead of argparse's usage block; the help is one flag away.
        raise CliError(f"{message} (see '{self.prog} --help')", code=2)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # Subcommands with their own option parsers get everything after their name untouched.
    if args_list and args_list[0] in _DELEGATED:
        module, func, name = _DELEGATED[args_list[0]]
        return _delegate(module, func, name, args_list[1:])
    parser = _build_parser()
    try:
        args = parser.parse_args(args_list)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 2
        return int(args.handler(args) or 0)
    except CliError as err:
        print(f"nu3d: error: {err}", file=sys.stderr)
        return err.code
    except ConfigError as err:
        print(f"nu3d: configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


# name -> (module, function, what): modules whose `main(argv) -> int` owns the rest of the command line.
_DELEGATED: dict[str, tuple[str, str, str]] = {
    "generate": ("generation.cli", "main", "the generation engine"),
    "devstore": ("devstore.cli", "main", "the devstore"),
    "worker": ("shop_app.worker.cli", "main", "generation workers"),
    "scheduler": ("scheduler.cli", "main", "the scheduler"),
}


def _delegate(module: str, func: str, what: str, argv: list[str]) -> int:
    try:
        entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), func)
    except (ModuleNotFoundError, AttributeError) as err:
        if isinstance(err, ModuleNotFoundError) and err.name and not module.startswith(err.name):
            raise
        print(f"nu3d: {what} is not available yet in this version", file=sys.stderr)
        return 3
    try:
        return int(entry(argv) or 0)
    except ConfigError as err:
        print(f"nu3d: configuration error: {err}", file=sys.stderr)
        return 2


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nu3d", description="Nu3D: 3D models from Shopify product photos.")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("serve", help="run the web app (embedded admin, APIs, webhooks)")
    p.add_argument("--host", help="bind address (default NU3D_HOST)")
    p.add_argument("--port", type=int, help="port (default NU3D_PORT)")
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser("demo", help="set up embedded defaults and run the whole product on one URL")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--device", default="auto", help="engine device: auto, cpu, cuda, cuda:N")
    p.add_argument("--no-seed", action="store_true", help="start with an empty demo shop")
    p.add_argument("--photo-size", type=int, default=512, help="pixel size of the demo catalogue's photos")
    p.set_defaults(handler=_cmd_demo)

    for name, what in (
        ("worker", "run generation workers (claims jobs, runs the engine)"),
        ("scheduler", "run the scheduler (product scans, token refresh, lease reaper)"),
        ("devstore", "run the offline Shopify stand-in"),
        ("generate", "run the engine on image files: nu3d generate IMG... --out DIR"),
    ):
        sub.add_parser(name, help=what, add_help=False)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(title="db commands", metavar="ACTION", parser_class=_Parser)
    p = db_sub.add_parser("upgrade", help="migrate to a revision (default: head)")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(handler=_cmd_db_upgrade)
    p = db_sub.add_parser("downgrade", help="migrate down to a revision ('base' empties the database)")
    p.add_argument("revision")
    p.set_defaults(handler=_cmd_db_downgrade)

    apikey = sub.add_parser("apikey", help="manage API keys for the job APIs")
    ak_sub = apikey.add_subparsers(title="apikey commands", metavar="ACTION", parser_class=_Parser)
    p = ak_sub.add_parser("create", help="create a key and print it once")
    p.add_argument("--name", default="default", help="a label to recognise the key by")
    p.add_argument(
        "--scope", choices=["jobs", "admin"], action="append", dest="scopes", help="jobs (default) or admin"
    )
    p.add_argument(
        "--expires", metavar="WHEN", help="a duration from now (30d, 12h, 90m, 2w) or a date (2027-01-31)"
    )
    p.set_defaults(handler=_cmd_apikey_create)
    p = ak_sub.add_parser("list", help="list keys: id, prefix, name, scopes, status, expiry, last use")
    p.set_defaults(handler=_cmd_apikey_list)
    p = ak_sub.add_parser("revoke", help="revoke a key (by id or shown prefix); it is refused at once")
    p.add_argument("key", metavar="ID_OR_PREFIX")
    p.set_defaults(handler=_cmd_apikey_revoke)

    account = sub.add_parser("account", help="manage logins of the generation API (POST /login)")
    acc_sub = account.add_subparsers(title="account commands", metavar="ACTION", parser_class=_Parser)
    p = acc_sub.add_parser("create", help="create an account (password prompted, or --password-stdin)")
    p.add_argument("--email", required=True, help="the login email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(handler=_cmd_account_create)
    return parser


def _configure_logging(settings: Settings | None = None) -> None:
    from shop_app.logconfig import configure_logging

    if settings is None:
        configure_logging()
    else:
        configure_logging(level=settings.log_level, json_lines=settings.log_json)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    return _migrate("upgrade", args.revision)


def _cmd_db_downgrade(args: argparse.Namespace) -> int:
    return _migrate("downgrade", args.revision)


def _migrate(direction: str, revision: str) -> int:
    from shop_app import migrate

    settings = load_database_settings()
    try:
        getattr(migrate, direction)(settings, revision)
    except migrate.MigrationError as err:
        raise CliError(str(err)) from None
    print(f"database at revision {revision}")
    return 0


@contextmanager
def _key_store() -> Iterator[Session]:
    """A session on the configured database, with one-line errors for a missing or unmigrated database."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from shop_app.db import make_engine, session_scope

    engine = make_engine(load_database_settings())
    try:
        with session_scope(engine) as session:
            yield session
    except (OperationalError, ProgrammingError) as err:
        raise CliError(
            f"cannot use the key store: {str(err.orig).splitlines()[0]} (did you run 'nu3d db upgrade'?)"
        ) from None
    finally:
        engine.dispose()


def _cmd_apikey_create(args: argparse.Namespace) -> int:
    from shop_app.apikeys import create_api_key, parse_expiry
    from shop_app.models import utcnow

    scopes = sorted(set(args.scopes or ["jobs"]))
    try:
        expires_at = parse_expiry(args.expires, now=utcnow()) if args.expires else None
    except ValueError as err:
        raise CliError(str(err), code=2) from None
    with _key_store() as session:
        row, plaintext = create_api_key(session=session, name=args.name, scopes=scopes, expires_at=expires_at)
        summary = f"created API key #{row.id} {row.name!r} (scopes: {row.scopes})"
        if expires_at is not None:
            summary += f", expires {expires_at.isoformat(timespec='seconds')}"
    print(summary, file=sys.stderr)
    print(plaintext)
    return 0


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def _cmd_apikey_list(args: argparse.Namespace) -> int:  # noqa: ARG001
    from shop_app.apikeys import key_status, list_api_keys
    from shop_app.models import utcnow

    now = utcnow()
    with _key_store() as session:
        rows = [
            (
                str(k.id),
                k.prefix,
                k.name,
                k.scopes,
                key_status(k, now=now),
                _when(k.expires_at),
                _when(k.last_used_at),
            )
            for k in list_api_keys(session=session)
        ]
    header = ("id", "prefix", "name", "scopes", "status", "expires", "last used")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from shop_app.apikeys import KeyNotFound, invalidate_api_key_cache, revoke_api_key

    try:
        with _key_store() as session:
            row = revoke_api_key(session=session, ident=args.key)
            line = f"revoked API key #{row.id} {row.name!r} ({row.prefix}...)"
    except KeyNotFound as err:
        raise CliError(f"{err} (see 'nu3d apikey list')") from None
    # Committed now: forget cached verifications in this process (a server process sees the revoke within the
    # cache's CACHE_TTL_S; the cache is per process).
    invalidate_api_key_cache()
    print(line)
    return 0


def _cmd_account_create(args: argparse.Namespace) -> int:
    import getpass

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from shop_app.db import make_engine, session_scope
    from shop_app.generation_accounts import AccountError, create_account

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
    settings = load_database_settings()
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            row = create_account(session=session, email=args.email, password=password)
            summary = f"created generation API account #{row.id} {row.email}"
    except AccountError as err:
        raise CliError(str(err)) from None
    except (OperationalError, ProgrammingError) as err:
        raise CliError(
            f"cannot store the account: {str(err.orig).splitlines()[0]} (did you run 'nu3d db upgrade'?)"
        ) from None
    finally:
        engine.dispose()
    print(summary)
    return 0


def preflight(settings: Settings) -> None:
    """Fail fast, in one line, on settings that would only break once the server runs."""
    from shop_app import migrate
    from shop_app.storage import make_storage

    make_storage(settings)
    try:
        migrate.check_at_head(settings)
    except migrate.MigrationError as err:
        raise CliError(str(err)) from None


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from shop_app.app import create_app

    settings = load_settings()
    preflight(settings)
    _configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        # X-Forwarded-* only from NU3D_TRUSTED_PROXIES; uvicorn would otherwise trust loopback by default.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or "",
    )
    return 0


def ensure_demo_env(path: Path = DEMO_ENV_FILE) -> Path:
    """Create the demo's secrets file once (random secrets; never used outside the demo)."""
    from cryptography.fernet import Fernet

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Generated by `nu3d demo` for the embedded demo. Do not use these values in production.\n"
        f"NU3D_SECRET_KEY={secrets.token_urlsafe(32)}\n"
        f"NU3D_TOKEN_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
        "SHOPIFY_API_KEY=nu3d-demo-client-id\n"
        f"SHOPIFY_API_SECRET={secrets.token_urlsafe(32)}\n"
    )
    path.chmod(0o600)
    return path


def _cmd_demo(args: argparse.Namespace) -> int:
    from shop_app.demo import DemoError, run_demo

    _configure_logging()
    try:
        return run_demo(
            port=args.port,
            device=args.device,
            env_file=ensure_demo_env(),
            seed=not args.no_seed,
            photo_size=args.photo_size,
        )
    except DemoError as err:
        raise CliError(str(err)) from None


if __name__ == "__main__":
    sys.exit(main())
