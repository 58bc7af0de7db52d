"""Cross-variant tier: a parameter-trajectory PCA basis fitted jointly over several variants.

With one basis, loop sizes and positions are comparable between runs. The artifact lives under
results/<family>/_shared/parameters.trajectory/<set-key>.npz with a JSON record of the exact
variants, checkpoints and checkpoint hashes it was fitted on; a change to that set (a variant
added or removed, a checkpoint added, a retrained file) makes it stale and it is refitted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miscope_core.analysis.analyzers.parameter_trajectory import (
    gram_of_rows,
    group_names,
    pca_from_gram,
)
from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.rowfile import RowFile
from miscope_core.io import (
    clean_stale_temps,
    load_npz,
    read_json,
    save_npz_atomic,
    scratch_directory,
    write_json_atomic,
)
from miscope_core.workspace import Workspace

SNAPSHOT = "parameters.snapshot"


@dataclass
class SharedBasis:
    """A jointly fitted PCA basis and every variant's projection onto it."""

    variant_ids: list[str]
    epochs: dict[str, np.ndarray]
    projections: dict[str, np.ndarray]
    components: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray
    group: str
    path: Path
    refitted: bool

    def project(self, rows: np.ndarray) -> np.ndarray:
        """Project flattened parameter vectors [n, D] onto the shared components."""
        return (np.asarray(rows, dtype=np.float64) - self.mean) @ self.components.T


def flattened_parameters(store: ArtifactStore, epoch: int, group: str) -> np.ndarray:
    """One checkpoint's weights of a group, flattened in a fixed order."""
    arrays = store.load_epoch(SNAPSHOT, epoch)
    return np.concatenate([arrays[n].ravel() for n in group_names(group, list(arrays))])


def _inputs_record(workspace: Workspace, family: str, variant_ids: list[str]) -> dict:
    record = {}
    models = set()
    for variant_id in variant_ids:
        paths = workspace.variant_paths(family, variant_id)
        models.add(json.dumps(read_json(paths.variant_json)["model"], sort_keys=True))
        entry = ArtifactStore(paths.artifacts).read_manifest()["analyzers"].get(SNAPSHOT, {})
        epochs = entry.get("epochs", {})
        if not epochs:
            raise FileNotFoundError(
                f"Variant {variant_id} has no {SNAPSHOT} artifacts; run "
                f"`miscope analyze {variant_id}` first"
            )
        record[variant_id] = {e: epochs[e]["checkpoint_hash"] for e in sorted(epochs, key=int)}
    if len(models) > 1:
        raise ValueError(
            f"Variants {variant_ids} have different architectures; a shared basis "
            f"needs one family and one architecture"
        )
    return record


def fit_shared_basis(
    workspace: Workspace,
    family: str,
    variant_ids: list[str],
    group: str = "all",
    n_components: int = 10,
) -> SharedBasis:
    """Fit (or reuse, when its inputs are unchanged) the joint trajectory PCA of variants."""
    ids = sorted(set(variant_ids))
    if len(ids) < 1:
        raise ValueError("fit_shared_basis needs at least one variant id")
    inputs = _inputs_record(workspace, family, ids)
    set_key = hashlib.sha256(json.dumps([ids, group, n_components]).encode()).hexdigest()[:12]
    folder = workspace.results / family / "_shared" / "parameters.trajectory"
    path, meta_path = folder / f"{set_key}.npz", folder / f"{set_key}.json"
    if meta_path.exists() and path.exists() and read_json(meta_path).get("inputs") == inputs:
        return _load(path, ids, group, refitted=False)
    arrays = _fit(workspace, family, ids, inputs, group, n_components)
    save_npz_atomic(path, arrays)
    write_json_atomic(
        meta_path, {"variants": ids, "group": group, "inputs": inputs, "n_components": n_components}
    )
    return _load(path, ids, group, refitted=True)


def _fit(workspace, family, ids, inputs, group, n_components) -> dict[str, np.ndarray]:
    stores = {v: ArtifactStore(workspace.variant_paths(family, v).artifacts, v) for v in ids}
    order = [(v, int(e)) for v in ids for e in inputs[v]]
    width = flattened_parameters(stores[ids[0]], order[0][1], group).size
    # scratch rows stay inside the workspace (removed on exit, or by the next run after a kill)
    shared = workspace.results / family / "_shared"
    clean_stale_temps(shared)
    with scratch_directory(shared) as tmp:
        rows = RowFile(f"{tmp}/rows.f32", width)
        for variant_id, epoch in order:
            rows.append(flattened_parameters(stores[variant_id], epoch, group))
        projections, ratio = pca_from_gram(gram_of_rows(rows), min(n_components, len(order)))
        mean = np.zeros(width)
        for start in range(0, len(order), 64):
            mean += np.asarray(rows[start : start + 64], dtype=np.float64).sum(axis=0)
        mean /= len(order)
        components = np.zeros((projections.shape[1], width))
        for start in range(0, len(order), 64):
            block = np.asarray(rows[start : start + 64], dtype=np.float64) - mean
            components += projections[start : start + 64].T @ block
        norms = np.linalg.norm(components, axis=1, keepdims=True)
        components /= np.where(norms > 0, norms, 1.0)
        del rows
    arrays = {
        "components": components.astype(np.float32),
        "mean": mean,
        "explained_variance_ratio": ratio,
    }
    for variant_id in ids:
        mask = np.array([v == variant_id for v, _ in order])
        arrays[f"{variant_id}.epochs"] = np.array([e for v, e in order if v == variant_id])
        arrays[f"{variant_id}.projections"] = projections[mask]
    return arrays


def _load(path: Path, ids: list[str], group: str, refitted: bool) -> SharedBasis:
    arrays = load_npz(path)
    return SharedBasis(
        variant_ids=ids,
        epochs={v: arrays[f"{v}.epochs"] for v in ids},
        projections={v: arrays[f"{v}.projections"] for v in ids},
        components=arrays["components"].astype(np.float64),
        mean=arrays["mean"],
        explained_variance_ratio=arrays["explained_variance_ratio"],
        group=group,
        path=path,
        refitted=refitted,
    )
