"""Deterministic training: a fixed intra-op thread budget and torch's deterministic algorithms.

With several intra-op threads, CPU ops reduce in an order that depends on scheduling: the
backward pass of `embed[tokens]` adds rows with parallel atomic adds, so two runs with the
default thread count end with different weights. Training therefore sets its own thread count
(default 1: on small models one thread is as fast as two on an idle machine and many times
faster on a busy one) and turns on `torch.use_deterministic_algorithms`, so that the same
settings give byte-identical checkpoints whatever the ambient OMP/MKL environment.
See docs/reliability.md, "Determinism".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

THREADS_ENV = "MISCOPE_THREADS"
DEFAULT_THREADS = 1
MAX_THREADS = 1024
# cuBLAS needs a fixed workspace to be deterministic; it must be set before its first use.
CUBLAS_WORKSPACE = ":4096:8"


def resolve_threads(threads: int | str | None = None) -> int:
    """The training thread budget: `threads` if given, else $MISCOPE_THREADS, else 1."""
    source = "threads"
    if threads is None:
        threads, source = os.environ.get(THREADS_ENV), THREADS_ENV
    if threads is None or threads == "":
        return DEFAULT_THREADS
    try:
        value = int(threads)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_THREADS or str(threads).strip() != str(value):
        raise ValueError(
            f"{source} must be a whole number of threads in 1..{MAX_THREADS}, "
            f"got {threads!r}; unset {THREADS_ENV} to use the default "
            f"({DEFAULT_THREADS})"
        )
    return value


@contextmanager
def deterministic_torch(threads: int, device: str) -> Iterator[None]:
    """Run the body with `threads` intra-op threads and deterministic algorithms, then restore."""
    import torch

    previous = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    on_cuda = str(device).startswith("cuda")
    if on_cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.set_num_threads(threads)
    # On CUDA some ops have no deterministic kernel; warn rather than refuse to train.
    torch.use_deterministic_algorithms(True, warn_only=on_cuda)
    try:
        yield
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1], warn_only=previous[2])
