"""One writer per variant: an advisory `flock` on a file in the variant directory.

The kernel drops an flock when its holder exits, however it exits (SIGKILL included), so a
crashed writer never leaves a variant locked. The lock file also records who holds it, so the
second writer's error names the job, the process and the time the first one started.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".write.lock"


class VariantBusyError(RuntimeError):
    """Another process is writing this variant (training or analysis)."""


@contextmanager
def variant_write_lock(variant_root: str | Path, owner: str | None = None) -> Iterator[Path]:
    """Hold the variant's write lock for the block; raise VariantBusyError at once if taken.

    `owner` names the writer for the other side's message (e.g. "job 20261202-…"); the
    process id and start time are added.
    """
    root = Path(variant_root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    # Opened without truncating: the holder's note must survive a failed attempt.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VariantBusyError(_busy_message(root, path)) from None
        note = {"owner": owner or f"pid {os.getpid()}", "pid": os.getpid(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def variant_writer(variant_root: str | Path) -> dict | None:
    """Who holds the variant's write lock ({owner, pid, since}), or None when nobody does."""
    path = Path(variant_root) / LOCK_NAME
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_note(path) or {"owner": "another process", "pid": None, "since": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_note(path: Path) -> dict | None:
    try:
        note = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # the holder may be between truncate and write
        return None
    if not isinstance(note, dict):
        return None
    # A damaged or foreign note must not break the "already being written" message.
    fields = {"owner": str, "pid": int, "since": (int, float)}
    return {key: note[key] for key, kind in fields.items() if isinstance(note.get(key), kind)}


def _busy_message(root: Path, path: Path) -> str:
    note = _read_note(path) or {}
    owner = note.get("owner") or "another process"
    pid = f" (pid {note['pid']})" if note.get("pid") and f"pid {note['pid']}" != owner else ""
    since = note.get("since")
    when = f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if since else ""
    return (
        f"{root.name} is already being written by {owner}{pid}{when}; wait for it to "
        f"finish or cancel it on the Jobs page, then try again"
    )
