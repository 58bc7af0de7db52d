"""metrics.npz: read it, and rebuild it from the resume state when it is damaged.

Beside the variant layout rather than in training/, so the view layer and the web process can
read metrics without importing the trainer (or torch).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from miscope_core.io import CorruptFileError, load_npz, save_npz_atomic
from miscope_core.training.checkpoints import previous_resume_path, verify_safetensors

log = logging.getLogger(__name__)


def read_metrics(paths, repair: bool = False) -> dict[str, np.ndarray]:
    """Per-epoch metrics ({} before the first save). A damaged metrics.npz is rebuilt from
    the resume state (rewritten when `repair`); without an intact resume state the
    CorruptFileError naming metrics.npz propagates."""
    path = Path(paths.metrics)
    if not path.exists():
        return {}
    try:
        return load_npz(path)
    except CorruptFileError as damage:
        rebuilt = metrics_from_resume(paths)
        if rebuilt is None:
            raise CorruptFileError(
                path,
                damage.reason,
                "no intact resume state to rebuild it from: train the variant again to rewrite it",
            ) from damage
        if repair:
            save_npz_atomic(path, rebuilt)
            log.warning(
                "%s; rebuilt it from the resume state (%d epochs)", damage, len(rebuilt["epoch"])
            )
        return rebuilt


def metrics_from_resume(paths) -> dict[str, np.ndarray] | None:
    """metrics.npz's arrays as saved in resume.safetensors (or its previous copy), or None."""
    from safetensors.numpy import load as load_numpy

    for candidate in (Path(paths.resume), previous_resume_path(paths.resume)):
        try:
            payload = candidate.read_bytes()
            meta = verify_safetensors(candidate, payload)
            tensors = load_numpy(payload)
        except (OSError, CorruptFileError, ValueError):
            continue
        metrics = {
            k.removeprefix("metrics."): v for k, v in tensors.items() if k.startswith("metrics.")
        }
        if not metrics:
            continue
        epoch = int(meta.get("epoch", 0))
        finished = all(len(v) > epoch and np.isfinite(v[epoch]) for v in metrics.values())
        rows = epoch + 1 if finished else epoch
        return {"epoch": np.arange(rows), **{k: v[:rows] for k, v in metrics.items()}}
    return None
