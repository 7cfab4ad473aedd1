"""One worker slot: a child process (started with spawn) that loads the engine once, then loops
claim → fetch inputs → dedupe → generate → store → complete, keeping its lease alive from a thread.

Stopping a running job:
- cancel requested (API) → the engine stops at the next stage boundary → the job is marked canceled;
- the supervisor stops the slot (SIGTERM on the worker) → same boundary → the job is released to the queue
  without counting the attempt;
- the lease was lost (reaped while this slot was stuck) → the slot drops the job and writes nothing (fenced).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from shop_app.db import Listener, listen_url, session_scope
from shop_app.fetch import FetchError, FetchPolicy, fetch_bytes
from shop_app.jobs.errors import LeaseLost
from shop_app.jobs.image_provider import ImageProviderError, ImageProviderNotConfigured, OpenAIImages
from shop_app.jobs.images import InvalidImage, inspect_image
from shop_app.jobs.lease import (
    ArtifactRecord,
    claim_job,
    complete_job,
    fail_job,
    finish_canceled,
    release_job,
)
from shop_app.jobs.lease_statements import ClaimedJob
from shop_app.jobs.params import input_hash_for_images
from shop_app.jobs.renders import PLATFORM_RENDER_KIND
from shop_app.jobs.results import find_generation
from shop_app.jobs.retries import RetryPolicy
from shop_app.jobs.workers import register_worker, unregister_worker
from shop_app.settings import Settings
from shop_app.storage import ObjectNotFound, Storage, StorageError
from shop_app.worker.engines import RETRYABLE_ENGINE_CODES, LoadedEngine
from shop_app.worker.lease_keeper import LeaseKeeper
from shop_app.worker.platform_job import run_platform_render

logger = logging.getLogger(__name__)

PRESENCE_EVERY_S = 5.0
JOBS_CHANNEL = "nu3d_jobs"  # NOTIFYed by a trigger when a job becomes queued (migration 0005)
LISTEN_POLL_S = 2.0  # the fall-back poll while listening (a retry whose backoff ends is not NOTIFYed)
T = TypeVar("T")
WORKER_KINDS = ("generate", PLATFORM_RENDER_KIND)  # what a slot runs unless told otherwise


@dataclass
class SlotConfig:
    """Parameters:
    settings: the worker's settings (database, storage, lease/heartbeat timings).
    slot: the slot number within the supervisor.
    worker_id: this slot's lease owner name (new for every spawn, so a killed slot's leases stay fenced).
    device: torch device for the engine (auto, cpu, cuda, cuda:N).
    engine: "real" or a plug-in `package.module:factory` (shop_app.worker.engines.load_engine).
    engine_options: NAME=VALUE pairs passed to a plug-in's factory.
    poll_s: idle wait between claims when the queue is empty.
    kinds: job kinds this slot runs.
    """

    settings: Settings
    slot: int
    worker_id: str
    device: str = "auto"
    engine: str = "real"
    engine_options: tuple[tuple[str, str], ...] = ()
    poll_s: float = 0.5
    kinds: tuple[str, ...] = WORKER_KINDS


class _Stop(Exception):
    """Internal: the job must stop (cancel requested, lease lost, or shutdown)."""


class SlotRunner:
    """Claims and runs jobs until `stop` is set."""

    def __init__(
        self,
        config: SlotConfig,
        *,
        db: Engine,
        storage: Storage,
        engine: LoadedEngine,
        stop: Any,
        current: Any,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.db = db
        self.storage = storage
        self.engine = engine
        self.stop = stop
        self.current = current
        self.policy = RetryPolicy(base_s=self.settings.job_retry_base_s, cap_s=self.settings.job_retry_cap_s)
        self.fetch_policy = FetchPolicy.from_settings(self.settings)
        self.image_provider = OpenAIImages.from_settings(self.settings)
        self._presence_at = 0.0
        self._db_backoff = 0.5
        url = listen_url(db)
        self._listener = Listener(url, JOBS_CHANNEL) if url else None

    def _idle(self) -> None:
        """Wait for work: on PostgreSQL until a job is queued (NOTIFY from a trigger on `job`) or
        LISTEN_POLL_S passed; otherwise, or while LISTEN is unavailable, `poll_s`."""
        if self._listener is None:
            self.stop.wait(self.config.poll_s)
            return
        deadline = time.monotonic() + max(self.config.poll_s, LISTEN_POLL_S)
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            woken = self._listener.wait(min(0.25, left))  # short slices: `stop` is checked between them
            if woken is None:
                self.stop.wait(self.config.poll_s)
                return
            if woken:
                return

    def _presence(self, job_id: str | None = None, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._presence_at < PRESENCE_EVERY_S:
            return
        try:
            register_worker(
                self.db, worker_id=self.config.worker_id, device=self.config.device, current_job_id=job_id
            )
            self._presence_at = time.monotonic()
        except SQLAlchemyError as err:
            logger.warning("cannot refresh worker presence: %s", str(err).splitlines()[0])

    def run(self) -> None:
        logger.info(
            "slot %s ready (engine=%s, device=%s)",
            self.config.worker_id,
            self.engine.name,
            self.config.device,
        )
        self._presence(force=True)
        while not self.stop.is_set():
            self._presence()
            try:
                job = claim_job(
                    self.db,
                    worker_id=self.config.worker_id,
                    lease_s=self.settings.job_lease_s,
                    kinds=self.config.kinds,
                )
                self._db_backoff = 0.5
            except SQLAlchemyError as err:
                logger.warning("claim failed (database unavailable?), retrying: %s", str(err).splitlines()[0])
                self.stop.wait(self._db_backoff)
                self._db_backoff = min(5.0, self._db_backoff * 2)
                continue
            if job is None:
                self._idle()
                continue
            self.current.value = job.id.encode()
            try:
                self._presence(job.id, force=True)
                self.process(job)
            finally:
                self.current.value = b""
        if self._listener is not None:
            self._listener.close()
        try:
            unregister_worker(self.db, worker_id=self.config.worker_id)
        except SQLAlchemyError:
            pass

    def run_once(self) -> bool:
        """Claim and run one job in this thread (tests, benchmarks, embedded use); False if none was ready."""
        job = claim_job(
            self.db,
            worker_id=self.config.worker_id,
            lease_s=self.settings.job_lease_s,
            kinds=self.config.kinds,
        )
        if job is None:
            return False
        self.process(job)
        return True

    # ------------------------------------------------------------------------------------------- one job

    def process(self, job: ClaimedJob) -> None:
        keeper = LeaseKeeper(
            self.db,
            job_id=job.id,
            worker_id=self.config.worker_id,
            lease_s=self.settings.job_lease_s,
            interval_s=self.settings.job_heartbeat_s,
            stop=self.stop,
        )
        keeper.start()
        try:
            if job.kind == PLATFORM_RENDER_KIND:
                run_platform_render(self, job, keeper)
            else:
                self._run(job, keeper)
        except _Stop:
            self._stopped(job, keeper)
        except LeaseLost as err:
            logger.warning("job %s: lease lost, result dropped: %s", job.id, err)
        except Exception as err:  # every failure is recorded on the job
            if keeper.should_stop():
                self._stopped(job, keeper)
            else:
                self._record_failure(job, err)
        finally:
            keeper.finish()

    def check_stop(self, keeper: LeaseKeeper) -> None:
        if keeper.should_stop():
            raise _Stop

    def _run(self, job: ClaimedJob, keeper: LeaseKeeper) -> None:
        started = time.monotonic()
        digest, record = self.make_model(job, keeper, band=(5, 95))
        if record is None:
            self.retry_db(
                lambda: complete_job(
                    self.db, job_id=job.id, worker_id=self.config.worker_id, input_hash=digest
                )
            )
            logger.info("job %s: same input already generated, completed from the stored result", job.id)
            return
        self.check_stop(keeper)
        keeper.finish(flush=True)
        self.check_stop(keeper)
        self.retry_db(
            lambda: complete_job(self.db, job_id=job.id, worker_id=self.config.worker_id, artifacts=record)
        )
        logger.info("job %s succeeded in %.1f s", job.id, time.monotonic() - started)

    def make_model(
        self, job: ClaimedJob, keeper: LeaseKeeper, *, band: tuple[int, int]
    ) -> tuple[str, ArtifactRecord | None]:
        """Fetch (or draw) the job's photos and run the engine, its progress mapped into `band` percent.

        Returns the input hash and the stored artifacts, or None for the artifacts when the same input was
        generated before (its stored model is reused)."""
        started = time.monotonic()
        keeper.report("fetching_inputs", 1)
        images, image_keys = self._load_inputs(job, keeper)
        digest = input_hash_for_images(images, job.params)
        with session_scope(self.db) as session:
            if find_generation(session, digest) is not None:
                return digest, None
        self.check_stop(keeper)
        low, high = band
        keeper.report("generating", low)
        params = dict(job.params)
        result = self.engine.engine.generate(
            images,
            prompt=params.get("prompt"),
            params=self.engine.make_params(params),
            device=self.config.device,
            progress=lambda stage, pct: keeper.report(
                stage, low + int(max(0.0, min(100.0, pct)) * (high - low) / 100)
            ),
            should_cancel=keeper.should_stop,
        )
        self.check_stop(keeper)
        keeper.report("storing", high + 1)
        record = ArtifactRecord(
            input_hash=digest,
            glb_key=self.storage.put(result.glb, suffix=".glb", content_type="model/gltf-binary"),
            splat_key=self.storage.put(result.splat_ply, suffix=".ply") if result.splat_ply else None,
            preview_key=self.storage.put(result.preview_png, suffix=".png") if result.preview_png else None,
            image_keys=image_keys,
            params=params,
            meta=_jsonable({**dict(result.metadata or {}), "engine": self.engine.name}),
            stats=_jsonable(dict(result.stats or {})),
            duration_s=round(time.monotonic() - started, 3),
        )
        return digest, record

    def _load_inputs(self, job: ClaimedJob, keeper: LeaseKeeper) -> tuple[list[bytes], list[str]]:
        images: list[bytes] = []
        keys: list[str] = []
        if "text_prompt" in job.inputs:
            # Text-to-3D: the provider draws the photo, which is stored like an upload (the job's input image).
            if self.image_provider is None:
                raise ImageProviderNotConfigured()
            keeper.report("generating_image", 2)
            image = self.image_provider.generate(job.inputs["text_prompt"], user=job.user_id)
            return [image.data], [self.storage.put(image.data, suffix=image.suffix)]
        if "image_keys" in job.inputs:
            for key in job.inputs["image_keys"]:
                images.append(self.storage.get(key))
                keys.append(key)
            return images, keys
        for index, url in enumerate(job.inputs.get("image_urls", [])):
            data = fetch_bytes(url, self.fetch_policy)
            info = inspect_image(
                data, name=f"image {index + 1} ({url[:120]})", max_bytes=self.fetch_policy.max_bytes
            )
            images.append(data)
            keys.append(self.storage.put(data, suffix=info.suffix))
        return images, keys

    def _stopped(self, job: ClaimedJob, keeper: LeaseKeeper) -> None:
        wid = self.config.worker_id
        if keeper.lost:
            logger.warning("job %s: lease lost; nothing written", job.id)
        elif keeper.cancel_requested:
            self.retry_db(
                lambda: finish_canceled(self.db, job_id=job.id, worker_id=wid, log="canceled by the worker")
            )
            logger.info("job %s canceled on request", job.id)
        else:
            self.retry_db(lambda: release_job(self.db, job_id=job.id, worker_id=wid))
            logger.info("job %s released back to the queue (worker stopping)", job.id)

    def _record_failure(self, job: ClaimedJob, err: Exception) -> None:
        code, retryable = _classify(err)
        message = getattr(err, "message", None) or str(err) or type(err).__name__
        if code == "internal_error":
            logger.exception("job %s failed unexpectedly", job.id, exc_info=err)
        else:
            logger.info("job %s failed: %s: %s", job.id, code, message)
        try:
            self.retry_db(
                lambda: fail_job(
                    self.db,
                    job_id=job.id,
                    worker_id=self.config.worker_id,
                    code=code,
                    message=message,
                    retryable=retryable,
                    policy=self.policy,
                )
            )
        except LeaseLost:
            logger.warning("job %s: lease lost before the failure could be recorded", job.id)

    def retry_db(self, fn: Callable[[], T]) -> T:
        """Run a final write, riding out a database restart for up to one lease period."""
        deadline = time.monotonic() + self.settings.job_lease_s
        delay = 0.25
        while True:
            try:
                return fn()
            except LeaseLost:
                raise
            except SQLAlchemyError as err:
                if time.monotonic() > deadline:
                    raise
                logger.warning("database write failed, retrying: %s", str(err).splitlines()[0])
                time.sleep(delay)
                delay = min(3.0, delay * 2)


def _classify(err: Exception) -> tuple[str, bool]:
    """(error code, retryable) for a failed run."""
    if isinstance(err, FetchError):
        return f"fetch_{err.code}", err.retryable
    if isinstance(err, ImageProviderError):
        return err.code, err.retryable
    if isinstance(err, InvalidImage):
        return err.code, False
    if isinstance(err, ObjectNotFound):
        return "input_missing", False
    if isinstance(err, StorageError):
        return "storage_error", True
    if isinstance(err, SQLAlchemyError):
        # Before the `code` attribute below: SQLAlchemy's errors carry one too (a docs link id such as
        # "e3q8"), which read as an engine code made a database restart fail the job for good.
        return "database_unavailable", True
    code = getattr(err, "code", None)
    if isinstance(code, str) and code:
        return code, code in RETRYABLE_ENGINE_CODES
    if isinstance(err, MemoryError):
        return "out_of_memory", True
    return "internal_error", True


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
