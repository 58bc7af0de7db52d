"""Disk-backed float32 rows read back in blocks with plain file reads.

Memory-mapping a large matrix would count its pages as resident while it is written; plain
reads keep the process's memory flat in the number of rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class RowFile:
    """Append equal-width float32 rows to a file; slice blocks of rows back out."""

    def __init__(self, path: str | Path, width: int):
        self.path = Path(path)
        self.width = width
        self.n_rows = 0
        self.path.write_bytes(b"")

    def append(self, row: np.ndarray) -> None:
        """Add one row (flattened, cast to float32)."""
        row = np.ascontiguousarray(row, dtype=np.float32).ravel()
        if row.size != self.width:
            raise ValueError(f"Row has {row.size} values; this file holds rows of {self.width}")
        with self.path.open("ab") as handle:
            handle.write(row.tobytes())
        self.n_rows += 1

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, width)."""
        return (self.n_rows, self.width)

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Rows start:stop as a float32 array (only contiguous slices)."""
        start, stop, step = rows.indices(self.n_rows)
        if step != 1:
            raise ValueError("RowFile supports contiguous slices only")
        count = max(0, stop - start) * self.width
        with self.path.open("rb") as handle:
            handle.seek(start * self.width * 4)
            data = np.fromfile(handle, dtype=np.float32, count=count)
        return data.reshape(-1, self.width)
