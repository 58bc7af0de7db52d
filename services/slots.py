"""Job slots: at most N jobs compute at once, each with a fixed thread budget.

A slot is an `flock` on `<workspace>/slots/slot-<i>.lock`. Any process on the machine (a
dashboard job, a CLI job, a second server) competes for the same files, and the kernel frees a
slot when its holder exits, however it exits. N defaults to the usable cores divided by the
threads per job, so several jobs launched together each keep the speed of one run alone.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

THREADS_ENV = "MISCOPE_THREADS"
SLOTS_ENV = "MISCOPE_JOB_SLOTS"
DEFAULT_THREADS = 1  # small models train fastest on one thread per job (see FACTS / bench)


def usable_cores() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def job_threads() -> int:
    """Threads per job: $MISCOPE_THREADS, else 1."""
    return _positive_env(THREADS_ENV, DEFAULT_THREADS)


def job_slots() -> int:
    """Jobs that may compute at once: $MISCOPE_JOB_SLOTS, else cores // threads (at least 1)."""
    return _positive_env(SLOTS_ENV, max(1, usable_cores() // job_threads()))


def _positive_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{name} must be a positive integer, got {raw!r}; unset it for the default ({default})"
        )
    return value


class Slot:
    """A held slot; `release()` (or process exit) frees it."""

    def __init__(self, index: int, fd: int):
        self.index, self._fd = index, fd

    def release(self) -> None:
        """Free the slot (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def try_acquire_slot(workspace_root: str | Path, slots: int | None = None) -> Slot | None:
    """Take a free slot without waiting, or None when all `slots` are held."""
    folder = Path(workspace_root) / "slots"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(slots or job_slots()):
        fd = os.open(folder / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Slot(index, fd)
    return None
