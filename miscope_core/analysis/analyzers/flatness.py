"""Landscape flatness: how much the training loss rises under random weight perturbations.

`landscape.flatness` (per epoch, needs the model). Context: `probe_labels`, `probe_train_mask`,
`readout_position`. Directions u_1..u_n are seeded Gaussian vectors over every weight matrix of
the bridge's state dict (entries ending in 'weight'; biases are left alone), normalised to unit
length jointly; the same seed gives the same directions at every epoch. With L the
cross-entropy at the readout position on the training rows (a seeded subset of at most
`max_rows`): delta_loss_i = L(theta + r * u_i) - L(theta), with r = radius * ||theta|| (norm
over the same weight entries) when `radius_mode` is "relative" (the default: weight decay halves
the weight norm over a grokking run, so a fixed r would probe an ever larger relative
neighbourhood) and r = radius when it is "absolute". The forward passes use the
bridge's state dict through miscope_core.models.functional (checked equal to the bridge by
tests/models/test_functional.py), so the bridge itself is never modified.
Per epoch: base_loss [] float64, delta_loss [n_directions] float64, weight_norm [] float64
(||theta||), radius_used [] float64 (r).
Summary (param flat_tolerance): base_loss, weight_norm, radius_used, mean_delta, median_delta,
max_delta, p90_delta, flat_fraction (share of directions with delta_loss <= flat_tolerance).
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer


def training_rows(context, max_rows: int, seed: int) -> np.ndarray:
    """Probe rows of the training split, a seeded subset of at most max_rows."""
    rows = np.flatnonzero(np.asarray(context["probe_train_mask"], dtype=bool))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_rows, replace=False))
    return rows


def readout_loss(weights, cfg, tokens, labels, position: int) -> float:
    """Mean cross-entropy at the readout position, log-softmax in float64."""
    import torch

    from miscope_core.models.functional import forward_logits

    last = position in (-1, tokens.shape[1] - 1)
    logits = forward_logits(weights, cfg, tokens, last_only=last)
    logits = (logits if last else logits[:, position]).double()
    return float(torch.nn.functional.cross_entropy(logits, labels))


def random_direction(shapes, generator) -> list:
    """A Gaussian direction over the given parameter shapes with unit total norm."""
    import torch

    parts = [torch.randn(shape, generator=generator) for shape in shapes]
    norm = torch.sqrt(sum((part**2).sum() for part in parts))
    return [part / norm for part in parts]


RADIUS_MODES = ("relative", "absolute")


def compute_flatness(
    inputs: EpochInputs,
    n_directions: int = 16,
    radius: float = 0.2,
    max_rows: int = 512,
    seed: int = 0,
    flat_tolerance: float = 0.01,
    radius_mode: str = "relative",
):
    """Loss change along seeded random unit directions at a radius relative to the weight norm
    (or absolute)."""
    import torch

    if inputs.model is None:
        raise ValueError("landscape.flatness needs the model (needs_model=True)")
    if radius_mode not in RADIUS_MODES or radius < 0:
        raise ValueError(
            f"landscape.flatness needs radius_mode in {list(RADIUS_MODES)} and radius >= 0, "
            f"got radius_mode={radius_mode!r}, radius={radius!r}"
        )
    state = {k: v.detach() for k, v in inputs.model.state_dict().items()}
    names = [k for k in state if k.endswith("weight")]
    norm = float(torch.sqrt(sum((state[k].double() ** 2).sum() for k in names)))
    radius = radius * norm if radius_mode == "relative" else radius
    device = state[names[0]].device
    rows = training_rows(inputs.context, max_rows, seed)
    tokens = torch.from_numpy(inputs.probe.tokens[rows]).to(device)
    labels = torch.from_numpy(np.asarray(inputs.context["probe_labels"])[rows]).long().to(device)
    position = int(inputs.context["readout_position"])
    generator = torch.Generator().manual_seed(seed)
    deltas = []
    with torch.no_grad():
        base = readout_loss(state, inputs.config, tokens, labels, position)
        for _ in range(n_directions):
            direction = random_direction([state[k].shape for k in names], generator)
            moved = dict(state)
            for name, part in zip(names, direction, strict=True):
                moved[name] = state[name] + (radius * part).to(
                    device=device, dtype=state[name].dtype
                )
            deltas.append(readout_loss(moved, inputs.config, tokens, labels, position) - base)
    return {
        "base_loss": np.float64(base),
        "delta_loss": np.array(deltas, dtype=np.float64),
        "weight_norm": np.float64(norm),
        "radius_used": np.float64(radius),
    }


def summarize_flatness(arrays, flat_tolerance: float = 0.01, **_) -> dict[str, np.ndarray]:
    """Mean / median / max / p90 loss change, the flat fraction, norm and radius used."""
    delta = arrays["delta_loss"]
    return {
        "base_loss": arrays["base_loss"],
        "weight_norm": arrays["weight_norm"],
        "radius_used": arrays["radius_used"],
        "mean_delta": np.mean(delta),
        "median_delta": np.median(delta),
        "max_delta": np.max(delta),
        "p90_delta": np.percentile(delta, 90),
        "flat_fraction": np.mean(delta <= flat_tolerance),
    }


register_analyzer(
    AnalyzerSpec(
        name="landscape.flatness",
        description="Training-loss change under seeded random weight perturbations at a radius "
        "relative to the weight norm (or absolute); summary mean/median/max/p90 and the flat "
        "fraction.",
        kind=PER_EPOCH,
        version=2,  # 2: radius relative to the weight norm by default
        compute=compute_flatness,
        outputs=("base_loss", "delta_loss", "weight_norm", "radius_used"),
        context_keys=("probe_labels", "probe_train_mask", "readout_position"),
        params={
            "n_directions": 16,
            "radius": 0.2,
            "max_rows": 512,
            "seed": 0,
            "flat_tolerance": 0.01,
            "radius_mode": "relative",
        },
        summarize=summarize_flatness,
        summary_outputs=(
            "base_loss",
            "weight_norm",
            "radius_used",
            "mean_delta",
            "median_delta",
            "max_delta",
            "p90_delta",
            "flat_fraction",
        ),
        needs_model=True,
        source="Random-direction sharpness (e.g. Keskar et al. 2017; Li et al. 2018 'Visualizing "
        "the loss landscape')",
    )
)
