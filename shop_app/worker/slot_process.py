"""The entry point of a spawned worker slot process: signals, logging, the engine, then `SlotRunner.run`."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from shop_app.db import make_engine
from shop_app.storage import make_storage
from shop_app.worker.engines import EngineUnavailable, load_engine
from shop_app.worker.slot import SlotConfig, SlotRunner

logger = logging.getLogger(__name__)

EXIT_ENGINE_UNAVAILABLE = 78  # the supervisor stops instead of respawning a slot that cannot load its engine


class ChildStop:
    """The slot's view of "stop": the supervisor's shared flag, or a SIGTERM delivered to this child.

    Nothing here takes a lock. The old design shared a multiprocessing Event and set it from the child's
    SIGTERM handler; the handler runs on the main thread between bytecodes, possibly while that thread is
    inside the Event's wait()/is_set() holding its lock, so the child deadlocked and, through the shared
    lock, so did the supervisor's own set() (seen with `kill -TERM -- -$PGID`). Now the handler sets a plain
    attribute and the supervisor's flag is a lock-free shared byte (a child killed with -9 cannot leave a
    lock held either); waits are short sleeps that re-check both."""

    SLICE_S = 0.05

    def __init__(self, shared: Any) -> None:
        self._shared = shared  # multiprocessing RawValue("b"): 1 once the supervisor asks slots to stop
        self.signalled = False

    def on_signal(self, *_: Any) -> None:
        self.signalled = True

    def is_set(self) -> bool:
        return self.signalled or bool(self._shared.value)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.SLICE_S, left))
        return True


def slot_main(config: SlotConfig, stop_flag: Any, current: Any) -> None:
    """Entry point of a spawned slot process."""
    from shop_app.logconfig import configure_logging

    stop = ChildStop(stop_flag)
    # Ctrl+C reaches the whole process group; only the supervisor decides how to stop. A SIGTERM sent to
    # this child alone (or to the group) just flags it: the running job is released at its next stage
    # boundary, as when the supervisor asks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop.on_signal)
    configure_logging(level=config.settings.log_level, json_lines=config.settings.log_json)
    try:
        engine = load_engine(config.engine, dict(config.engine_options))
    except EngineUnavailable as err:
        logger.error("slot %d: %s", config.slot, err)
        raise SystemExit(EXIT_ENGINE_UNAVAILABLE) from None
    db = (
        make_engine(config.settings, pool_size=2)
        if not config.settings.is_sqlite
        else make_engine(config.settings)
    )
    storage = make_storage(config.settings)
    try:
        SlotRunner(config, db=db, storage=storage, engine=engine, stop=stop, current=current).run()
    finally:
        db.dispose()
