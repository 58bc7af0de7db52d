"""Necessity over training: loss and accuracy with one component replaced, at every checkpoint.

`interventions.ablation` (per epoch, needs the model; not in the default battery: the
components are the researcher's question). For each component (miscope_core.analysis.
interventions: a head, a set of MLP neurons, or a residual-stream subspace, by standard hook
names) one forward pass over the probe with the component replaced by `method` ("zero", "mean"
over the probe, or "resample": another probe row's value, a seeded permutation), plus one
clean pass. Per epoch:
  component_names [n_comp] str, set_names [n_sets] str (see interventions.metric_sets)
  baseline_loss, baseline_accuracy [n_sets] float64      clean model
  loss, accuracy [n_comp, n_sets] float64                 component replaced
logit_frequency_norms [n_comp + 1, n_freq] float32, row 0 clean: with a token basis over a
square probe grid (modular addition), for each frequency k the norm of the readout logits'
cos/sin(w_k(a+b)) components (the sum directions of progress.logit_projections); n_freq = 0
for other families.
Summary: the same arrays stacked over epochs.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import frequency_values
from miscope_core.analysis.analyzers.logit_projections import grid_sum_directions
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.interventions import (
    check_method,
    component_hook,
    component_label,
    loss_and_accuracy,
    metric_sets,
    probe_targets,
    replacement_hook,
    residual_basis,
    resolve_components,
    run_with_replacements,
)
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

OUTPUTS = (
    "component_names",
    "set_names",
    "baseline_loss",
    "baseline_accuracy",
    "loss",
    "accuracy",
    "logit_frequency_norms",
)
FREQUENCY_KEYS = ("token_basis", "token_basis_frequency", "probe_grid_shape", "readout_position")


def component_replacements(model, context, n_probe: int, components, method: str, seed: int):
    """(label, [(hook name, hook function)]) for each component of this checkpoint's model."""
    import torch

    permutation = torch.from_numpy(np.random.default_rng(seed).permutation(n_probe))
    replacements = []
    for component in components:
        basis = (
            residual_basis(component, model, context) if component["kind"] == "residual" else None
        )
        hook = replacement_hook(component, method, basis, permutation)
        replacements.append((component_label(component), [(component_hook(component), hook)]))
    return replacements


def compute_ablation(
    inputs: EpochInputs, components="heads", method: str = "mean", seed: int = 0
) -> dict[str, np.ndarray]:
    """Clean and per-component-replaced loss and accuracy on every metric set."""
    import torch

    if inputs.model is None:
        raise ValueError("interventions.ablation needs the model (needs_model=True)")
    check_method(method)
    chosen = resolve_components(components, inputs.config)
    device = next(inputs.model.parameters()).device
    tokens = torch.from_numpy(inputs.probe.tokens).to(device)
    targets = probe_targets(inputs.probe, inputs.context, inputs.config.n_ctx)
    sets = metric_sets(inputs.probe, inputs.context, inputs.config.n_ctx)
    frequencies = _frequency_reader(inputs.context)
    runs = [("clean", [])] + component_replacements(
        inputs.model, inputs.context, len(tokens), chosen, method, seed
    )
    losses, accuracies, norms = [], [], []
    with torch.no_grad():
        for _, hooks in runs:
            logits = run_with_replacements(inputs.model, tokens, hooks)
            loss, accuracy = loss_and_accuracy(logits, targets, sets)
            losses.append(loss)
            accuracies.append(accuracy)
            norms.append(frequencies(logits) if frequencies is not None else np.zeros(0))
    arrays = {
        "component_names": np.array([label for label, _ in runs[1:]], dtype=str),
        "set_names": np.array(list(sets), dtype=str),
        "baseline_loss": np.array(losses[0]),
        "baseline_accuracy": np.array(accuracies[0]),
        "loss": np.array(losses[1:]).reshape(len(chosen), len(sets)),
        "accuracy": np.array(accuracies[1:]).reshape(len(chosen), len(sets)),
    }
    arrays["logit_frequency_norms"] = np.array(norms, dtype=np.float32).reshape(len(runs), -1)
    return arrays


def _frequency_reader(context):
    """A function logits -> per-frequency norm of the sum components, or None without a
    token basis over a square grid."""
    if not all(key in context for key in FREQUENCY_KEYS):
        return None
    directions, labels = grid_sum_directions(context)
    ks = frequency_values(labels)
    position = int(context["readout_position"])

    def norms(logits) -> np.ndarray:
        z = logits[:, position].double().cpu().numpy()
        squared = (directions @ z) ** 2
        return np.array([np.sqrt(squared[labels == k].sum()) for k in ks])

    return norms


def summarize_ablation(arrays, **_) -> dict[str, np.ndarray]:
    """Every per-epoch array, stacked over epochs by the pipeline."""
    return dict(arrays)


register_analyzer(
    AnalyzerSpec(
        name="interventions.ablation",
        description="Loss and accuracy (train/test or per metric set) with each chosen component "
        "(head, MLP neurons, residual subspace) zeroed, mean- or resample-ablated over the probe.",
        kind=PER_EPOCH,
        compute=compute_ablation,
        outputs=OUTPUTS,
        params={"components": "heads", "method": "mean", "seed": 0},
        summarize=summarize_ablation,
        summary_outputs=OUTPUTS,
        needs_model=True,
        in_default_battery=False,
        source="Ablation as in Olsson et al. 2022 (induction heads) and Nanda et al. 2023 "
        "(Fourier-subspace ablations); resample ablation as in Chan et al. 2022",
    )
)
