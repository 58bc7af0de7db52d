"""Atomic, pickle-free file IO shared by every store in the workspace.

Damage is reported as one error class, CorruptFileError, whose message names the file, what is
wrong and what to do. Temp files carry the writing process's host and pid, so a later run can
remove those a killed process left behind (`clean_stale_temps`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


class CorruptFileError(ValueError):
    """A stored file is damaged: "Damaged file <path>: <what is wrong>; <what to do>"."""

    def __init__(self, path: Path, reason: str, advice: str | None = None):
        self.path = Path(path)
        self.reason = _without_pickle_hint(reason)
        self.advice = advice or advice_for(self.path)
        super().__init__(f"Damaged file {self.path}: {self.reason}; {self.advice}")


def _without_pickle_hint(reason: str) -> str:
    # numpy's own message for object arrays proposes allow_pickle=True: never pass that on.
    if "pickle" in reason.lower():
        return "it holds Python objects that only pickle could read (refused: unsafe)"
    return reason.strip() or "unreadable"


_ADVICE = (  # (file-name pattern, what to do), first match wins
    (
        r"^resume(\.prev)?\.safetensors$",
        "training falls back to resume.prev.safetensors or the newest intact checkpoint when it "
        "resumes; run the same `miscope train` command",
    ),
    (
        r"^epoch_\d+\.safetensors$",
        "delete it (analysis then uses the other checkpoints) or train the variant again in a "
        "fresh workspace to recreate it",
    ),
    (
        r"^metrics\.(npz|json)$",
        "it is rebuilt from the resume state by the next `miscope analyze` or `miscope train`",
    ),
    (
        r"^manifest(\.prev)?\.json$",
        "it is rebuilt by the next `miscope analyze` (from its previous copy, else from the "
        "artifact files present)",
    ),
    (
        r"^(epoch_\d+|summary|cross_epoch)\.npz$",
        "the next `miscope analyze` of this variant recomputes it",
    ),
    (
        r"^variant\.json$",
        "the variant's settings cannot be read; restore the file from a backup, or delete the "
        "variant folder and train it again",
    ),
)


def advice_for(path: Path) -> str:
    """What a user can do about a damaged file of this kind."""
    for pattern, advice in _ADVICE:
        if re.match(pattern, Path(path).name):
            return advice
    return "delete it so that it is recreated, or restore it from a backup"


def content_hash(payload: bytes) -> str:
    """blake2b (128-bit, hex) of bytes: the content hash stored beside artifacts and states."""
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def file_content_hash(path: Path) -> str:
    """content_hash of a file's bytes, read in blocks."""
    digest = hashlib.blake2b(digest_size=16)
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- temp files: named after their writer so that leftovers of a killed run can be removed ---
TEMP_DIR_NAME = ".tmp"
_OWNER = re.compile(r"~(?P<host>[A-Za-z0-9_.-]*)~(?P<pid>\d+)~")
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_FOREIGN_TEMP_MAX_AGE_S = 24 * 3600


def temp_owner_tag() -> str:
    """'~host~pid~': marks a temp name with its writer (see clean_stale_temps)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())[:40]
    return f"~{host}~{os.getpid()}~"


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write bytes to `path` so that readers see either the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{temp_owner_tag()}", suffix=".tmp"
    )
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def keep_previous_version(path: Path, previous: Path) -> None:
    """Make `previous` a copy of `path` (a hard link where possible) before `path` is
    replaced: there is never a moment without an intact one of the two."""
    path, previous = Path(path), Path(previous)
    if not path.exists():
        return
    staged = previous.with_name(f".{previous.name}.{temp_owner_tag()}link.tmp")
    staged.unlink(missing_ok=True)
    try:
        os.link(path, staged)
    except OSError:  # a file system without hard links
        shutil.copyfile(path, staged)
    os.replace(staged, previous)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask is process-wide, so probing it later could race other threads.
_UMASK = _read_umask()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as pretty JSON atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default)
    atomic_write_bytes(path, (text + "\n").encode())


def read_json(path: Path, expect: type | None = None) -> Any:
    """Read a JSON file; damage (not UTF-8, not JSON, not of type `expect`) raises
    CorruptFileError naming the path."""
    path = Path(path)
    payload = path.read_bytes()
    try:
        value = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"not UTF-8 text (byte {exc.start} is invalid)") from exc
    except json.JSONDecodeError as exc:
        raise CorruptFileError(path, f"invalid JSON ({exc})") from exc
    if expect is not None and not isinstance(value, expect):
        raise CorruptFileError(
            path, f"expected a JSON {expect.__name__}, found {type(value).__name__}"
        )
    return value


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray], compress: bool = False) -> str:
    """Save named arrays as .npz atomically (object arrays are refused so loads never
    unpickle); returns the file's content hash."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"Array {key!r} has dtype object; artifacts must be numeric or str")
    buffer = io.BytesIO()
    saver = np.savez_compressed if compress else np.savez
    saver(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    payload = buffer.getvalue()
    atomic_write_bytes(path, payload)
    return content_hash(payload)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load every array of an .npz without pickle; a damaged file raises CorruptFileError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        reason = str(exc) or type(exc).__name__
        raise CorruptFileError(path, f"not a readable .npz archive ({reason})") from exc


def clean_stale_temps(root: Path) -> list[Path]:
    """Remove temp files and scratch folders under `root` whose writing process is gone
    (killed mid-write); returns what was removed."""
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in root.rglob(".*.tmp"):
        if path.is_file() and _abandoned(path):
            path.unlink(missing_ok=True)
            removed.append(path)
    for scratch in root.rglob(TEMP_DIR_NAME):
        for entry in scratch.iterdir() if scratch.is_dir() else ():
            if _abandoned(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _abandoned(path: Path) -> bool:
    match = _OWNER.search(path.name)
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    if match is None:  # written before temp names carried their owner
        return _LEGACY_TEMP.match(path.name) is not None and age > 3600
    host, pid = match.group("host"), int(match.group("pid"))
    if host != _OWNER.search(temp_owner_tag()).group("host"):
        return age > _FOREIGN_TEMP_MAX_AGE_S  # another machine sharing the workspace
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def scratch_directory(root: Path) -> Iterator[Path]:
    """A private folder under `<root>/.tmp/`, removed on exit (and by `clean_stale_temps` if
    the process is killed), so scratch data stays inside the workspace."""
    parent = Path(root) / TEMP_DIR_NAME
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=temp_owner_tag()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"Cannot serialise {type(value).__name__} to JSON")
