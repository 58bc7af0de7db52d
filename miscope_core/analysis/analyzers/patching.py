"""Cross-checkpoint patching: a component's activations from checkpoint s in the forward pass
of checkpoint t, over a grid of (s, t) pairs.

`interventions.patching` (cross-epoch; reads checkpoints; not in the default battery). The
grid: `n_grid` checkpoints evenly spaced over the saved ones by index (first and last
included), or the checkpoints nearest the given `epochs`. Cost, exactly: n_grid forward
passes with a cache of the components' hooks, then for each target t one clean pass, one
ablated pass per component (`method`, as interventions.ablation) and n_grid patched passes
per component: n_grid * (1 + n_comp * (n_grid + 1)) probe forward passes in all (8 grid
checkpoints and 4 heads: 296), and n_grid cached activations in memory at a time per hook.
`n_grid` is at most 32. Outputs, for the metric set `metric_set` ('' = test if present):
  epochs [g], component_names [c] str, set_name [] str
  clean_loss [g], ablated_loss [c, g]                       target t's own / ablated
  loss [c, g, g]       loss of target t (row) with the component taken from source s (col)
  recovered [c, g, g]  (ablated_loss[t] - loss[t, s]) / (ablated_loss[t] - clean_loss[t]):
                       1 = as good as t's own activations, 0 = as bad as ablating them
                       (NaN where ablating changes nothing, |denominator| < 1e-9)
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.ablation import component_replacements
from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.interventions import (
    check_method,
    component_hook,
    component_label,
    loss_and_accuracy,
    metric_sets,
    patch_hook,
    probe_targets,
    residual_basis,
    resolve_components,
    run_with_replacements,
)
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

MAX_GRID = 32


def grid_epochs(epochs: list[int], n_grid: int, chosen=None) -> list[int]:
    """The checkpoints of the grid: nearest to `chosen`, else n_grid evenly by index."""
    if chosen:
        return sorted({min(epochs, key=lambda e, c=c: abs(e - c)) for c in chosen})
    if not 2 <= n_grid <= MAX_GRID:
        raise ValueError(f"n_grid must be an integer in 2..{MAX_GRID}, got {n_grid!r}")
    picks = np.unique(np.round(np.linspace(0, len(epochs) - 1, n_grid)).astype(int))
    return [epochs[i] for i in picks]


def compute_patching(
    series: EpochSeries,
    components="heads",
    method: str = "mean",
    n_grid: int = 8,
    epochs=None,
    metric_set: str = "",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Loss of every target checkpoint with each component patched in from every source."""
    import torch

    check_method(method)
    chosen = resolve_components(components, series.config)
    grid = grid_epochs(series.epochs, n_grid, epochs)
    model, probe = _model_and_probe(series)
    sets = metric_sets(probe, series.context, series.config.n_ctx)
    names = list(sets)
    index = names.index("test") if not metric_set and "test" in names else 0
    if metric_set:
        if metric_set not in names:
            raise ValueError(f"metric_set must be one of {names}, got {metric_set!r}")
        index = names.index(metric_set)
    one_set = {names[index]: sets[names[index]]}
    targets = probe_targets(probe, series.context, series.config.n_ctx)
    tokens = torch.from_numpy(probe.tokens)
    hooks = sorted({component_hook(c) for c in chosen})
    captured = {}
    with torch.no_grad():
        for epoch in grid:
            _load(model, series, epoch)
            _, cache = model.run_with_cache(tokens, names_filter=lambda n: n in hooks)
            captured[epoch] = {h: cache[h].clone() for h in hooks}
        clean, ablated, loss = _patched_losses(
            model, series, grid, chosen, captured, tokens, targets, one_set, method, seed
        )
    denominator = ablated[:, :, None] - clean[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        recovered = np.where(
            np.abs(denominator) > 1e-9, (ablated[:, :, None] - loss) / denominator, np.nan
        )
    return {
        "epochs": np.array(grid),
        "component_names": np.array([component_label(c) for c in chosen], dtype=str),
        "set_name": np.array(names[index]),
        "clean_loss": clean,
        "ablated_loss": ablated,
        "loss": loss,
        "recovered": recovered,
    }


def _patched_losses(model, series, grid, chosen, captured, tokens, targets, sets, method, seed):
    g, c = len(grid), len(chosen)
    clean, ablated, loss = np.zeros(g), np.zeros((c, g)), np.zeros((c, g, g))
    for t, target_epoch in enumerate(grid):
        _load(model, series, target_epoch)
        clean[t] = _loss(model, tokens, [], targets, sets)
        replacements = component_replacements(
            model, series.context, len(tokens), chosen, method, seed
        )
        for i, (_, hook) in enumerate(replacements):
            ablated[i, t] = _loss(model, tokens, hook, targets, sets)
        for i, component in enumerate(chosen):
            basis = (
                residual_basis(component, model, series.context)
                if component["kind"] == "residual"
                else None
            )
            name = component_hook(component)
            for s, source_epoch in enumerate(grid):
                patch = patch_hook(component, captured[source_epoch][name], basis)
                loss[i, t, s] = _loss(model, tokens, [(name, patch)], targets, sets)
    return clean, ablated, loss


def _loss(model, tokens, hooks, targets, sets) -> float:
    logits = run_with_replacements(model, tokens, hooks)
    return loss_and_accuracy(logits, targets, sets)[0][0]


def _model_and_probe(series: EpochSeries):
    from miscope_core.families import get_family
    from miscope_core.io import read_json
    from miscope_core.models.bridge import build_bridge
    from miscope_core.variants import VariantPaths, VariantSpec

    paths = VariantPaths(series.store.root.parent)
    spec = VariantSpec.from_dict(read_json(paths.variant_json, expect=dict))
    model = build_bridge(series.config, seed=0, device="cpu").eval()
    return model, get_family(spec.family).build_probe(spec.params)


def _load(model, series: EpochSeries, epoch: int) -> None:
    from miscope_core.training.checkpoints import load_checkpoint

    state = load_checkpoint(series.store.root.parent / "checkpoints", epoch)
    model.load_state_dict(state)


register_analyzer(
    AnalyzerSpec(
        name="interventions.patching",
        description="Cross-checkpoint patching: each component's activations from checkpoint s "
        "in checkpoint t's forward pass over an (s, t) grid; loss and share recovered.",
        kind=CROSS_EPOCH,
        compute=compute_patching,
        outputs=(
            "epochs",
            "component_names",
            "set_name",
            "clean_loss",
            "ablated_loss",
            "loss",
            "recovered",
        ),
        params={
            "components": "heads",
            "method": "mean",
            "n_grid": 8,
            "epochs": None,
            "metric_set": "",
            "seed": 0,
        },
        in_default_battery=False,
        source="Activation patching (e.g. Meng et al. 2022; Heimersheim & Nanda 2024) across "
        "checkpoints of one run",
    )
)
