"""A small supervisor for `nu3d demo`: child processes that start together and stop together.

Children live in their own sessions (so Ctrl+C reaches only the supervisor, which stops them in order), which
also means nothing stops them if the supervisor itself is killed with SIGKILL. On Linux each child therefore
asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG) and stops the way a normal stop would.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


class ProcessGroup:
    """Start `nu3d <command>` children; if one exits, stop the rest (a half-running demo helps nobody)."""

    def __init__(self, *, grace_s: float = 10.0) -> None:
        self.children: list[Child] = []
        self.grace_s = grace_s

    def start(self, name: str, args: Sequence[str], env: dict[str, str]) -> Child:
        child = Child(name=name, argv=[sys.executable, "-m", "shop_app.cli", *args], env=env)
        # Each child in its own session, so Ctrl+C reaches only us and we stop them in order.
        child.process = subprocess.Popen(
            child.argv, env=env, start_new_session=True, preexec_fn=_exit_with_parent(os.getpid())
        )
        logger.info("started %s (pid %d): nu3d %s", name, child.process.pid, " ".join(args))
        self.children.append(child)
        return child

    def first_exit(self, poll_s: float = 0.5) -> Child | None:
        """Block until a child exits (returns it) or we are interrupted (returns None)."""
        try:
            while True:
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None:
                        return child
                time.sleep(poll_s)
        except KeyboardInterrupt:
            return None

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s; killing it", child.name, self.grace_s)
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait(timeout=5)


_PR_SET_PDEATHSIG = 1


def _exit_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A preexec function that makes the child receive SIGTERM when `parent_pid` dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
