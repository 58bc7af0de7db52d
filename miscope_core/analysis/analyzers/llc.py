"""Local learning coefficient (LLC) per checkpoint, and the epsilon x gamma sweep to trust it.

`landscape.llc` (per epoch, needs the model): SGLD chains localized at the checkpoint's weights
(miscope_core/analysis/sgld.py) over every trainable state-dict entry, on the family task's
fixed training set (`TrainingData`: the train split for modular addition, the fixed sample of
the training distribution for induction) with the trainer's loss (cross-entropy at the readout,
float64 log-softmax, -1 targets ignored), through miscope_core.models.functional.
`landscape.llc_calibration` (cross-epoch, not in the default battery): the same estimator over
a grid of step sizes epsilon and localizations gamma at a few checkpoints.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs, EpochSeries, TrainingData
from miscope_core.analysis.registry import (
    CROSS_EPOCH,
    PER_EPOCH,
    AnalyzerSpec,
    register_analyzer,
)
from miscope_core.analysis.sgld import (
    LLCEstimate,
    SGLDSettings,
    chain_diagnostics,
    estimate_llc,
)

SOURCE = (
    "Lau et al. 2023 'The local learning coefficient' (arXiv 2308.12108); devinterp's SGLD; "
    "Hoogland et al. 2024; CALIBRATION.md §4"
)
# Chosen by the sweep recorded in docs/analyzers.md (quick preset, epochs 400 / 1 500 / 3 500):
# gamma 1000 keeps every chain stationary within 150 steps, epsilon 1e-4 is the largest step
# that stays a factor 3 below divergence (3e-4 diverges or escapes at memorising checkpoints).
# 2 chains x (30 + 90) steps keep the cost within 3x the default battery (bench_analysis.py).
SAMPLER_PARAMS = {
    "epsilon": 1e-4,
    "gamma": 1000.0,
    "nbeta": 0.0,
    "n_chains": 2,
    "n_draws": 90,
    "n_burnin": 30,
    "batch_size": 128,
    "seed": 0,
}


def training_loss_of(cfg, training: TrainingData):
    """loss_of(weights, rows) for the sampler: the trainer's loss on training rows (all: None)."""
    import torch

    from miscope_core.models.functional import forward_logits

    def loss_of(weights, rows):
        tokens, targets = training.tokens, training.targets
        if rows is not None:
            rows = rows.to(tokens.device)
            tokens, targets = tokens[rows], targets[rows]
        logits = forward_logits(weights, cfg, tokens, training.last_only)
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).double(), targets.reshape(-1), ignore_index=-1
        )

    return loss_of


def sample_checkpoint(cfg, training: TrainingData, state, settings: SGLDSettings):
    """(estimate, number of trainable parameters) for one checkpoint's state dict.

    Sampled under training's thread budget and deterministic algorithms: with several threads
    the backward pass of the embedding lookup adds rows in a scheduling-dependent order, and the
    same seed would give different chains (miscope_core/training/determinism.py).
    """
    import torch

    from miscope_core.training.determinism import deterministic_torch, resolve_threads

    device = training.tokens.device
    weights = {k: v.detach().to(device) for k, v in state.items()}
    trainable = training.trainable(weights)
    with torch.enable_grad(), deterministic_torch(resolve_threads(), str(device)):
        estimate = estimate_llc(
            training_loss_of(cfg, training), weights, trainable, training.n, settings
        )
    return estimate, sum(weights[name].numel() for name in trainable)


def resample_llc(paths, epochs, device: str = "cpu", **sampler) -> tuple[np.ndarray, np.ndarray]:
    """(LLC, standard error) of a trained variant at `epochs`, estimated afresh with `sampler`
    settings (e.g. another seed: the repeatability check's second estimate)."""
    from miscope_core.analysis.inputs import training_data
    from miscope_core.families import get_family
    from miscope_core.io import read_json
    from miscope_core.training.checkpoints import load_checkpoint
    from miscope_core.variants import VariantSpec

    spec = VariantSpec.from_dict(read_json(paths.variant_json, expect=dict))
    family = get_family(spec.family)
    training = training_data(family, spec, device)
    settings = SGLDSettings(**sampler)
    estimates = [
        sample_checkpoint(
            family.model_config(spec.params),
            training,
            load_checkpoint(paths.checkpoints, int(epoch)),
            settings,
        )[0]
        for epoch in epochs
    ]
    return np.array([e.llc for e in estimates]), np.array([e.standard_error for e in estimates])


def estimate_arrays(estimate: LLCEstimate, n_parameters: int, tolerance: float) -> dict:
    """The per-checkpoint arrays of landscape.llc for one estimate."""
    flags = chain_diagnostics(estimate, n_parameters, tolerance)
    return {
        "llc": np.float64(estimate.llc),
        "llc_se": np.float64(estimate.standard_error),
        "llc_chains": estimate.llc_chains.astype(np.float64),
        "init_loss": np.float64(estimate.init_loss),
        "nbeta": np.float64(estimate.nbeta),
        "loss_traces": estimate.loss_traces.astype(np.float32),
        "diverged": flags["diverged"],
        "stationary": flags["stationary"],
    }


def compute_llc(inputs: EpochInputs, stationarity_tolerance: float = 0.2, **sampler) -> dict:
    """LLC of one checkpoint: mean over chains, per chain, traces and diagnostic flags."""
    if inputs.model is None or inputs.training is None:
        raise ValueError("landscape.llc needs the model and the training data (needs_model=True)")
    settings = SGLDSettings(**sampler)
    estimate, n_parameters = sample_checkpoint(
        inputs.config, inputs.training, inputs.model.state_dict(), settings
    )
    return estimate_arrays(estimate, n_parameters, stationarity_tolerance)


def summarize_llc(arrays, **_) -> dict[str, np.ndarray]:
    """Mean, its standard error, spread across chains, L_n(w*) and the flagged chains."""
    chains = arrays["llc_chains"]
    return {
        "llc": arrays["llc"],
        "llc_se": arrays["llc_se"],
        "llc_std": np.std(chains, ddof=1) if len(chains) > 1 else np.float64(np.nan),
        "init_loss": arrays["init_loss"],
        "diverged_chains": np.int32(np.sum(arrays["diverged"])),
        "nonstationary_chains": np.int32(np.sum(~arrays["stationary"])),
    }


register_analyzer(
    AnalyzerSpec(
        name="landscape.llc",
        description="Local learning coefficient: SGLD chains localized at the checkpoint on the "
        "training set, lambda = n beta (E[L] - L(w*)); per-chain traces and diverged / "
        "not-stationary flags.",
        kind=PER_EPOCH,
        compute=compute_llc,
        outputs=(
            "llc",
            "llc_se",
            "llc_chains",
            "init_loss",
            "nbeta",
            "loss_traces",
            "diverged",
            "stationary",
        ),
        params={**SAMPLER_PARAMS, "stationarity_tolerance": 0.2},
        summarize=summarize_llc,
        summary_outputs=(
            "llc",
            "llc_se",
            "llc_std",
            "init_loss",
            "diverged_chains",
            "nonstationary_chains",
        ),
        needs_model=True,
        version=3,  # 3: one flat noise draw per step; 2: name order, llc_se
        in_default_battery=False,
        source=SOURCE,
    )
)


# --- the epsilon x gamma calibration sweep --------------------------------------------------
def parse_grid(name: str, text) -> list[float]:
    """A comma list of positive numbers ('1e-4,1e-3'), as CLI and forms pass it."""
    try:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a comma list of numbers > 0, e.g. '1e-4,1e-3', got {text!r}"
        )
    return values


def sweep_epochs(epochs: list[int], chosen, n_checkpoints: int) -> list[int]:
    """The named checkpoints, or n_checkpoints spread evenly over those after initialisation."""
    if str(chosen).strip():
        wanted = [int(v) for v in parse_grid("epochs", chosen)]
        missing = sorted(set(wanted) - set(epochs))
        if missing:
            raise ValueError(f"No checkpoints at epochs {missing}; saved epochs: {epochs}")
        return sorted(set(wanted))
    trained = [e for e in epochs if e > 0] or epochs
    picks = np.linspace(0, len(trained) - 1, max(1, n_checkpoints)).round().astype(int)
    return sorted({trained[i] for i in picks})


def compute_llc_calibration(
    series: EpochSeries,
    epsilons="3e-5,1e-4,3e-4",
    gammas="100,1000,10000",
    epochs="",
    n_checkpoints: int = 3,
    stationarity_tolerance: float = 0.2,
    **sampler,
) -> dict:
    """LLC over an epsilon x gamma grid at a few checkpoints, with traces and flags."""
    if series.training is None:
        raise ValueError("landscape.llc_calibration needs the variant's training data")
    eps, gam = parse_grid("epsilons", epsilons), parse_grid("gammas", gammas)
    chosen = sweep_epochs(series.epochs, epochs, n_checkpoints)
    cells = [
        [[_sweep_cell(series, e, a, g, sampler, stationarity_tolerance) for g in gam] for a in eps]
        for e in chosen
    ]

    def stack(key):
        return np.array([[[cell[key] for cell in row] for row in grid] for grid in cells])

    return {
        "epochs": np.array(chosen, dtype=np.int64),
        "epsilons": np.array(eps),
        "gammas": np.array(gam),
        "llc": stack("llc"),
        "llc_chains": stack("llc_chains"),
        "init_loss": stack("init_loss")[:, 0, 0],
        "loss_traces": stack("loss_traces"),
        "diverged": stack("diverged"),
        "stationary": stack("stationary"),
    }


def _sweep_cell(series, epoch, epsilon, gamma, sampler, tolerance) -> dict:
    settings = SGLDSettings(**{**sampler, "epsilon": epsilon, "gamma": gamma})
    estimate, n_parameters = sample_checkpoint(
        series.config, series.training, series.weights(epoch), settings
    )
    return estimate_arrays(estimate, n_parameters, tolerance)


register_analyzer(
    AnalyzerSpec(
        name="landscape.llc_calibration",
        description="The LLC over a grid of SGLD step sizes epsilon and localizations gamma at a "
        "few checkpoints, with chain traces and flags: how to choose landscape.llc's settings.",
        kind=CROSS_EPOCH,
        compute=compute_llc_calibration,
        outputs=(
            "epsilons",
            "gammas",
            "llc",
            "llc_chains",
            "init_loss",
            "loss_traces",
            "diverged",
            "stationary",
        ),
        version=3,  # 3: one flat noise draw per step; 2: name order (same seed, same chains)
        params={
            "epsilons": "3e-5,1e-4,3e-4",
            "gammas": "100,1000,10000",
            "epochs": "",
            "n_checkpoints": 3,
            **{k: v for k, v in SAMPLER_PARAMS.items() if k not in ("epsilon", "gamma")},
            "n_draws": 60,
            "n_burnin": 30,
            "stationarity_tolerance": 0.2,
        },
        needs_model=True,
        in_default_battery=False,
        source=SOURCE,
    )
)
