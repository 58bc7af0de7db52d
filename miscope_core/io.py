"""Atomic, pickle-free file IO shared by every store in the workspace."""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


class CorruptFileError(RuntimeError):
    """A stored file is truncated or unreadable; its path is in the message."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"Corrupt or truncated file {path}: {reason}")
        self.path = Path(path)


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write bytes to `path` so that readers see either the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def read_json(path: Path) -> Any:
    """Read a JSON file, raising CorruptFileError (naming the path) when it does not parse."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CorruptFileError(path, f"invalid JSON ({exc})") from exc


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray], compress: bool = False) -> None:
    """Save named arrays as .npz atomically; object arrays are refused so loads never unpickle."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"Array {key!r} has dtype object; artifacts must be numeric or str")
    buffer = io.BytesIO()
    saver = np.savez_compressed if compress else np.savez
    saver(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    atomic_write_bytes(path, buffer.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load every array of an .npz without pickle; a damaged file raises CorruptFileError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise CorruptFileError(path, str(exc) or type(exc).__name__) from exc


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
