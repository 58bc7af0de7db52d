"""Comparison services: the variant table and compare figures (grid, overlay, shared basis).

Plain data in, plain data out; figures come from the catalog through
`miscope_core.comparison`, so the dashboard and notebooks draw the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from miscope_core.io import CorruptFileError
from miscope_core.variants import check_variant_id
from miscope_core.workspace import Workspace

ALIGN_MODES = ("epoch", "progress")


def parse_variant_ids(text: str | None) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'], each id validated (no path tricks)."""
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    return [check_variant_id(v) for v in dict.fromkeys(ids)]


def load_variants(workspace: Workspace, variant_ids: list[str]):
    """Notebook `Variant` handles; unknown ids raise KeyError listing what exists."""
    from miscope_core.notebook import Variant
    from miscope_core.views.source import VariantSource

    return [Variant(VariantSource.open(workspace, v)) for v in variant_ids]


def variant_table(workspace: Workspace, family: str | None = None) -> list[dict[str, Any]]:
    """One row per variant: family, id, parameters, state, final accuracy, transitions, keys."""
    from miscope_core.analysis.trajectory_metrics import transition_epochs
    from services.registry import list_variant_states, read_metrics

    rows = []
    for state in list_variant_states(workspace, family):
        paths = workspace.variant_paths(state.family, state.variant_id)
        row: dict[str, Any] = {
            "family": state.family,
            "variant": state.variant_id,
            "state": state.state,
            **state.params,
        }
        metrics = read_metrics(paths)
        if metrics.get("test_accuracy") is not None and len(metrics["test_accuracy"]):
            row["train_acc"] = round(float(metrics["train_accuracy"][-1]), 4)
            row["test_acc"] = round(float(metrics["test_accuracy"][-1]), 4)
            transitions = transition_epochs(metrics)
            row["memorized_at"] = transitions["train_accuracy_99"]
            row["generalized_at"] = transitions["test_accuracy_99"]
        row["key_frequencies"] = _key_frequencies(workspace, state.family, state.variant_id)
        rows.append(row)
    return rows


def _key_frequencies(workspace: Workspace, family: str, variant_id: str) -> str:
    from miscope_core.analysis.artifacts import ArtifactStore

    store = ArtifactStore(workspace.variant_paths(family, variant_id).artifacts)
    try:
        keys = store.load_cross_epoch("progress.measures")["key_frequencies"]
    except (FileNotFoundError, CorruptFileError, KeyError):
        return ""
    return ", ".join(str(int(k)) for k in keys)


def comparable_views(workspace: Workspace, variant_ids: list[str]) -> list[dict[str, str]]:
    """Views available for every compared variant: [{'name', 'title', 'kind'}]."""
    from miscope_core.views import get_view

    variants = load_variants(workspace, variant_ids)
    if not variants:
        return []
    shared = None
    for variant in variants:
        names = {row.name for row in variant.available_views() if row.available}
        shared = names if shared is None else shared & names
    specs = sorted((get_view(n) for n in shared or ()), key=lambda s: (s.kind, s.name))
    return [{"name": s.name, "title": s.title, "kind": s.kind} for s in specs]


def compare_figures(
    workspace: Workspace,
    variant_ids: list[str],
    view: str,
    position: float | None = None,
    align: str = "epoch",
    overlay: bool = False,
    smoothing: float = 0.0,
) -> dict[str, Any]:
    """{'panels': [{'variant', 'epoch', 'title', 'figure'}]} or {'overlay': figure}.

    `position` is an epoch (align='epoch') or a fraction of each run (align='progress');
    None means each variant's last checkpoint.
    """
    from miscope_core.comparison import aligned_epoch, compare, variant_label

    if align not in ALIGN_MODES:
        raise ValueError(f"align must be one of {list(ALIGN_MODES)}, got {align!r}")
    variants = load_variants(workspace, variant_ids)
    comparison = compare(variants)
    epoch = int(position) if align == "epoch" and position is not None else None
    progress = float(position) if align == "progress" and position is not None else None
    bound = comparison.view(
        view, epoch=epoch, progress=progress, overlay=overlay, smoothing=smoothing
    )
    if overlay:
        return {"overlay": _json(bound.figure())}
    panels = []
    for variant, chosen, figure in bound.panels():
        label = variant_label(variant, variants)
        # The page titles each panel (variant and checkpoint) above the graph.
        figure.update_layout(
            width=None, height=400, title=None, margin={"t": 30, "l": 60, "r": 20, "b": 50}
        )
        panels.append(
            {
                "variant": variant.id,
                "epoch": chosen,
                "label": label,
                "title": f"{label} — epoch {chosen}",
                "figure": _json(figure),
            }
        )
    return {
        "panels": panels,
        "align": align,
        "epochs": {v.id: aligned_epoch(v, epoch, progress) for v in variants},
    }


def shared_trajectory_figure(
    workspace: Workspace, variant_ids: list[str], pc_x: int = 2, pc_y: int = 3
) -> dict[str, Any]:
    """The jointly fitted parameter-trajectory PCA of the variants, as figure JSON."""
    from miscope_core.comparison import compare

    return _json(compare(load_variants(workspace, variant_ids)).shared_trajectory(pc_x, pc_y))


def max_epoch(workspace: Workspace, variant_ids: list[str]) -> int:
    """The last checkpoint epoch over the compared variants (the epoch slider's end)."""
    return max((v.epochs[-1] for v in load_variants(workspace, variant_ids) if v.epochs), default=0)


def _json(figure: Any) -> dict[str, Any]:
    return json.loads(figure.to_json())


def sweep_table(workspace: Workspace, sweep_id: str) -> list[dict[str, Any]]:
    """One row per variant of a sweep: its grid settings and seed, training state, final
    accuracy, transition epochs and outcome class (metrics.npz only: no artifacts read)."""
    from miscope_core.outcomes import classify_outcomes, transition_row
    from miscope_core.sweeps import load_sweep
    from services.registry import read_metrics

    record = load_sweep(workspace, sweep_id)
    grid_names = list(record["grid"])
    rows = []
    for entry in record["variants"]:
        paths = workspace.variant_paths(record["family"], entry["variant_id"])
        stored = _stored_record(paths.variant_json)
        target = int(stored.get("training", {}).get("epochs", 0))
        done = int(stored.get("epochs_completed", 0))
        n_classes = int(stored.get("model", {}).get("d_vocab_out") or 2)
        row: dict[str, Any] = {
            "variant": entry["variant_id"],
            **{name: entry["params"].get(name) for name in grid_names},
            "seed": entry["params"].get("seed"),
            "epochs": f"{done}/{target}" if stored else "untrained",
            "finished": bool(stored) and stored.get("status") == "complete",
            **transition_row(read_metrics(paths) if stored else {}, n_classes),
        }
        rows.append(row)
    for row, outcome in zip(rows, classify_outcomes(rows), strict=True):
        row["outcome"] = outcome
        for key in ("final_test_accuracy", "final_train_accuracy"):
            if row.get(key) is not None:
                row[key] = round(row[key], 4)
    return rows


def _stored_record(path) -> dict[str, Any]:
    from miscope_core.io import read_json

    if not path.exists():
        return {}
    try:
        return read_json(path, expect=dict)
    except CorruptFileError:
        return {}


def ensemble_views(workspace: Workspace, variant_ids: list[str]) -> list[dict[str, str]]:
    """Across-epochs views every listed variant can draw (what an ensemble can show)."""
    from miscope_core.views.registry import ACROSS_EPOCHS

    trained = [v for v in variant_ids if _has_metrics(workspace, v)]
    views = comparable_views(workspace, trained[:6]) if trained else []
    return [v for v in views if v["kind"] == ACROSS_EPOCHS]


def ensemble_alignments() -> list[dict[str, str]]:
    """The registered alignment events: [{'name', 'description'}]."""
    from miscope_core.ensemble import ALIGNMENTS

    return [{"name": e.name, "description": e.description} for e in ALIGNMENTS.values()]


def ensemble_figure(
    workspace: Workspace, variant_ids: list[str], view: str, align: str = "epoch"
) -> dict[str, Any]:
    """Median + IQR figure JSON of an across-epochs view over the trained variants listed."""
    from miscope_core.comparison import compare

    trained = [v for v in variant_ids if _has_metrics(workspace, v)]
    if not trained:
        raise ValueError("None of these variants has trained epochs yet")
    figure = compare(load_variants(workspace, trained)).ensemble(view, align=align).figure()
    figure.update_layout(width=None, height=480)
    return _json(figure)


def _has_metrics(workspace: Workspace, variant_id: str) -> bool:
    try:
        return workspace.locate(variant_id).metrics.exists()
    except KeyError:
        return False
