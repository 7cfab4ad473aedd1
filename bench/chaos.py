"""Chaos run: workers SIGKILLed while they run jobs, a PostgreSQL restart and a full disk mid-run.

    python bench/chaos.py                       # 300 jobs, 3 workers, 100 kills, restart + full disk
    python bench/chaos.py --jobs 60 --kills 20 --no-pg-restart --no-full-disk

Everything is on loopback and throwaway: a private PostgreSQL cluster (initdb in a temp folder, its own
port, run as the `postgres` user) so restarting it disturbs nobody, and the file store on a size-capped
tmpfs (root only; otherwise a plain folder and no full-disk phase). Jobs use the fake engine (the worker's
real code path: claim, lease, heartbeat, stages, artifact upload, complete). The loop is bounded: `--kills`
SIGKILLs of a whole worker process group, each aimed at a worker that holds a running job, each followed
by a replacement worker; then the restart, then the disk filled for a few seconds, then a wait (with a
deadline) until every job is finished. Printed at the end: jobs lost (not finished), doubled (completed
more than once: more run-time samples or generations than jobs), failed, attempts, and the errors workers
logged during the restart and the full disk.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shop_app import migrate  # noqa: E402
from shop_app.db import make_engine, session_scope  # noqa: E402
from shop_app.settings import DatabaseSettings  # noqa: E402
from shop_app.storage import LocalStorage  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.job_requests import enqueue_job  # noqa: E402
from tests.jobs.conftest import png_bytes  # noqa: E402

FAST = {
    "NU3D_JOB_LEASE_S": "3",
    "NU3D_JOB_HEARTBEAT_S": "0.5",
    "NU3D_JOB_RETRY_BASE_S": "0.1",
    "NU3D_JOB_RETRY_CAP_S": "1",
    "NU3D_JOB_MAX_ATTEMPTS": "20",
}


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not versions:
        raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql")
    return versions[-1].parent


class PrivatePostgres:
    """A PostgreSQL cluster of our own on loopback (initdb refuses root: run as `postgres`)."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "pg"
        self.port = free_port()
        self.bin = _pg_bin()

    def _as_postgres(self, *args: str) -> None:
        cmd = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> str:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust")
        self.pg_ctl("start", "-w")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            *extra,
            action,
        )

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path, stage_s: float) -> None:
        self.env, self.log_dir, self.stage_s = env, log_dir, stage_s
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.restarted_after_exit = 0

    def start(self) -> subprocess.Popen[bytes]:
        with open(self.log_dir / f"worker-{self.started}.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "shop_app.cli", "worker", "--engine", "tests.fake_engine:load"]
                + ["--engine-option", f"stage_s={self.stage_s}", "--device", "cpu"]
                + ["--concurrency", "1", "--poll-s", "0.1"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started += 1
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        self.procs.remove(proc)

    def replace_exited(self) -> int:
        exited = [p for p in self.procs if p.poll() is not None]
        for proc in exited:
            self.procs.remove(proc)
            self.start()
        self.restarted_after_exit += len(exited)
        return len(exited)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)

    def log_lines(self, *needles: str) -> collections.Counter[str]:
        found: collections.Counter[str] = collections.Counter()
        for path in self.log_dir.glob("worker-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if any(n in line for n in needles):
                    found[line.split("] ", 1)[-1][:160]] += 1
        return found


def _scalar(engine, sql: str, **params: object) -> int:  # noqa: ANN001
    for _ in range(50):  # the database may be restarting
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql), params).scalar_one())
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    raise RuntimeError(f"database unreachable for: {sql}")


def fill_disk(files: Path, engine, hold_s: float = 5.0) -> str:  # noqa: ANN001
    """Fill the tmpfs, keep it full for `hold_s`, free it; says how many jobs finished meanwhile."""
    filler = files / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 20))
        except OSError:
            pass
    before = _scalar(engine, "SELECT count(*) FROM job WHERE status = 'succeeded'")
    t_full = time.monotonic()
    time.sleep(hold_s)  # artifact writes fail meanwhile
    during = _scalar(engine, "SELECT count(*) FROM job WHERE status = 'succeeded'") - before
    filler.unlink()
    return f"disk full for {time.monotonic() - t_full:.1f} s: {during} jobs finished meanwhile"


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001
    raise KeyboardInterrupt  # a `timeout` or Ctrl+C still runs the clean-up (PostgreSQL, tmpfs, workers)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--stage-s", type=float, default=0.3, help="fake engine seconds per stage")
    parser.add_argument("--no-pg-restart", action="store_true")
    parser.add_argument("--no-full-disk", action="store_true")
    parser.add_argument("--deadline-s", type=float, default=900)
    args = parser.parse_args()
    random.seed(7)
    tmp = Path(tempfile.mkdtemp(prefix="nu3d-chaos-"))
    pg = PrivatePostgres(tmp)
    files = tmp / "files"
    files.mkdir()
    tmpfs = os.geteuid() == 0 and not args.no_full_disk
    if tmpfs:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(files)], check=True)
    workers: Workers | None = None
    try:
        url = pg.start()
        migrate.upgrade(DatabaseSettings(database_url=url))
        engine = make_engine(DatabaseSettings(database_url=url))
        storage = LocalStorage(files, base_url="http://127.0.0.1", secret=b"chaos")
        with session_scope(engine) as session:
            for i in range(args.jobs):
                key = storage.put(png_bytes(10_000 + i), suffix=".png")
                enqueue_job(session=session, inputs={"image_keys": [key]}, max_attempts=20)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))},
            **FAST,
            "NU3D_DATABASE_URL": url,
            "NU3D_STORAGE_URL": str(files),
            "NU3D_SECRET_KEY": "chaos-secret-0123456789abcdef",
            "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SHOPIFY_API_KEY": "chaos",
            "SHOPIFY_API_SECRET": "chaos-secret-abcdef-0123456789",
            "NU3D_JOB_ENGINE": "tests.fake_engine:load",
        }
        logs = tmp / "logs"
        logs.mkdir()
        workers = Workers(env, logs, args.stage_s)
        for _ in range(args.workers):
            workers.start()
        started = time.monotonic()
        kills = hits = 0
        events: list[str] = []
        restart_at = args.kills // 2 if not args.no_pg_restart else -1
        full_at = (3 * args.kills) // 4 if tmpfs else -1
        while kills < args.kills and time.monotonic() - started < args.deadline_s:
            if kills == restart_at:
                t0 = time.monotonic()
                pg.pg_ctl("restart", "-m", "fast", "-w")
                events.append(f"PostgreSQL restarted at kill {kills} ({time.monotonic() - t0:.1f} s)")
                print(f"  {events[-1]}", flush=True)
                restart_at = -1
            if kills == full_at:
                events.append(fill_disk(files, engine))
                print(f"  {events[-1]}", flush=True)
                full_at = -1
            workers.replace_exited()  # e.g. one that started while the database was down (exit 1, one line)
            victim = random.choice(workers.procs)
            # Aim at a worker that is running a job (its pid is in the lease owner), within a short wait.
            aim_deadline = time.monotonic() + 5
            held = 0
            while time.monotonic() < aim_deadline:
                held = _scalar(
                    engine,
                    "SELECT count(*) FROM job WHERE status = 'running' AND lease_owner LIKE :owner",
                    owner=f"%-{victim.pid}-s%",
                )
                if held:
                    break
                time.sleep(0.05)
            time.sleep(random.uniform(0, 0.3))  # somewhere inside a stage
            workers.kill(victim)
            kills += 1
            hits += bool(held)
            workers.start()
            if kills % 10 == 0:
                done = _scalar(engine, "SELECT count(*) FROM job WHERE status = 'succeeded'")
                print(
                    f"  {kills} kills ({hits} holding a job), {done} jobs done, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
            if _scalar(engine, "SELECT count(*) FROM job WHERE status IN ('queued', 'running')") == 0:
                break
        while time.monotonic() - started < args.deadline_s:
            workers.replace_exited()
            if _scalar(engine, "SELECT count(*) FROM job WHERE status IN ('queued', 'running')") == 0:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        counts = {
            s: _scalar(engine, "SELECT count(*) FROM job WHERE status = :s", s=s)
            for s in ("queued", "running", "succeeded", "failed", "canceled")
        }
        samples = _scalar(engine, "SELECT coalesce(sum(samples), 0) FROM kind_stats")
        generations = _scalar(engine, "SELECT count(*) FROM generation")
        retried = _scalar(engine, "SELECT count(*) FROM job WHERE attempt > 1")
        max_attempt = _scalar(engine, "SELECT max(attempt) FROM job")
        with engine.connect() as conn:
            failures = conn.execute(
                text("SELECT error_code, count(*) FROM job WHERE status = 'failed' GROUP BY error_code")
            ).all()
        engine.dispose()
        lost = counts["queued"] + counts["running"]
        doubled = max(0, samples - counts["succeeded"]) + max(0, generations - args.jobs)
        print(f"jobs {args.jobs}, workers {args.workers}, {kills} SIGKILLs ({hits} while holding a job)")
        for event in events:
            print(f"  {event}")
        print(f"finished in {elapsed:.1f} s: {counts}")
        print(f"lost {lost}, doubled {doubled} (run-time samples {samples}, generations {generations})")
        print(f"jobs retried {retried}, most attempts {max_attempt}, failures {dict(failures) or 0}")
        print(f"workers that exited on their own and were replaced: {workers.restarted_after_exit}")
        errors = workers.log_lines("ERROR", "WARNING", "No space left", "database", "OperationalError")
        print("worker log lines about the faults (count: line):")
        for line, count in errors.most_common(8):
            print(f"  {count:4d}: {line}")
        return 0 if lost == 0 and doubled == 0 and counts["failed"] == 0 else 1
    finally:
        if workers is not None:
            workers.stop_all()
        pg.stop()
        if tmpfs:
            subprocess.run(["umount", "-l", str(files)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
