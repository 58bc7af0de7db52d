"""The local learning coefficient (LLC) by SGLD localized at a set of weights w*.

Lau, Furman, Wang, Murfet, Wei (2023), "The local learning coefficient", as implemented by the
`devinterp` package and described in CALIBRATION.md §4. Each chain starts at w* and takes

    w <- w + (eps / 2) * (-nbeta * grad L_B(w) - gamma * (w - w*)) + N(0, eps)

with L_B the mean loss on a minibatch B drawn without replacement from the n training examples.
The estimate is lambda = nbeta * (E[L_B(w_t)] - L_n(w*)) over the draws after burn-in, with the
default inverse temperature nbeta = n / log n (beta = 1 / log n). `loss_of(weights, rows)` is the
only model-specific piece: the transformer analyzers pass the functional forward's training
loss and the known-answer tests a quadratic model, so both run this same sampler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# loss_of(weights, rows): mean training loss (a 0-d tensor) on the examples `rows` (None: all)
LossOf = Callable[[Mapping[str, Any], Any], Any]


def default_nbeta(n: int) -> float:
    """n * beta with the default beta = 1 / log n (needs n >= 2 examples)."""
    if n < 2:
        raise ValueError(f"The LLC needs at least 2 training examples, got n={n}")
    return n / math.log(n)


@dataclass(frozen=True)
class SGLDSettings:
    """Sampler settings; nbeta 0 means the default n / log n."""

    epsilon: float = 1e-4
    gamma: float = 1000.0
    nbeta: float = 0.0
    n_chains: int = 2
    n_draws: int = 90
    n_burnin: int = 30
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self):
        for name in ("epsilon", "gamma"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"SGLD {name} must be a finite number > 0, got {value!r}")
        if not (math.isfinite(self.nbeta) and self.nbeta >= 0):
            raise ValueError(f"SGLD nbeta must be >= 0 (0: n / log n), got {self.nbeta!r}")
        counts = (("n_chains", 1), ("n_draws", 2), ("n_burnin", 0), ("batch_size", 1), ("seed", 0))
        for name, low in counts:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"SGLD {name} must be an integer >= {low}, got {value!r}")

    def resolved_nbeta(self, n: int) -> float:
        """The inverse temperature times n actually used for n training examples."""
        return float(self.nbeta) if self.nbeta > 0 else default_nbeta(n)


@dataclass(frozen=True)
class LLCEstimate:
    """Per-chain estimates and loss traces (burn-in included) of one SGLD run."""

    llc_chains: np.ndarray  # [n_chains] float64
    init_loss: float  # L_n(w*)
    loss_traces: np.ndarray  # [n_chains, n_burnin + n_draws] float32, minibatch losses
    nbeta: float
    n_burnin: int

    @property
    def llc(self) -> float:
        """Mean of the per-chain estimates."""
        return float(np.mean(self.llc_chains))

    @property
    def standard_error(self) -> float:
        """Standard error of `llc`: batch means within each chain (draws are autocorrelated),
        chains independent."""
        draws = self.nbeta * (self.loss_traces[:, self.n_burnin :].astype(np.float64))
        per_chain = _batch_mean_error(draws)
        return float(np.sqrt(np.sum(per_chain**2)) / len(per_chain))


def estimate_llc(
    loss_of: LossOf,
    weights: Mapping[str, object],
    trainable: Sequence[str],
    n: int,
    settings: SGLDSettings,
) -> LLCEstimate:
    """Run `settings.n_chains` SGLD chains at w* = `weights` over the `trainable` entries."""
    import torch

    missing = [name for name in trainable if name not in weights]
    if missing or not trainable:
        raise ValueError(f"Trainable weights {missing or '(none)'} are not in {sorted(weights)}")
    center = {k: v.detach() for k, v in weights.items()}
    nbeta = settings.resolved_nbeta(n)
    with torch.no_grad():
        init_loss = float(loss_of(center, None))
    generator = torch.Generator().manual_seed(settings.seed)
    traces = np.stack(
        [
            _run_chain(loss_of, center, trainable, n, nbeta, settings, generator)
            for _ in range(settings.n_chains)
        ]
    )
    draws = traces[:, settings.n_burnin :].astype(np.float64)
    llc_chains = nbeta * (draws.mean(axis=1) - init_loss)
    return LLCEstimate(llc_chains, init_loss, traces, nbeta, settings.n_burnin)


def _run_chain(loss_of, center, trainable, n, nbeta, settings, generator) -> np.ndarray:
    import torch

    # One flat vector holds every moving weight, in name order (the noise stream must not depend
    # on the order a checkpoint file lists its tensors): the gradient, the update and the noise
    # are then one tensor operation each instead of one per weight (2.80 -> 2.13 s per checkpoint).
    names = sorted(trainable)
    dtypes = {center[k].dtype for k in names}
    if len(dtypes) > 1:
        raise ValueError(
            f"SGLD needs the trainable weights in one dtype, got {sorted(map(str, dtypes))}"
        )
    anchor = torch.cat([center[k].reshape(-1) for k in names])
    flat = anchor.clone().requires_grad_(True)
    sizes = [center[k].numel() for k in names]
    batch = min(settings.batch_size, n)
    half_step, noise_scale = settings.epsilon / 2, math.sqrt(settings.epsilon)
    losses = np.empty(settings.n_burnin + settings.n_draws, dtype=np.float32)
    for step in range(len(losses)):
        rows = None if batch == n else torch.randperm(n, generator=generator)[:batch]
        with torch.enable_grad():
            parts = torch.split(flat, sizes)
            moving = {k: part.view(center[k].shape) for k, part in zip(names, parts, strict=True)}
            loss = loss_of({**center, **moving}, rows)
        (grad,) = torch.autograd.grad(loss, flat)
        losses[step] = float(loss.detach())
        with torch.no_grad():
            drift = grad.mul_(nbeta).add_(flat - anchor, alpha=settings.gamma)
            noise = torch.randn(flat.shape, generator=generator, dtype=flat.dtype)
            flat.add_(drift, alpha=-half_step).add_(noise.to(flat.device), alpha=noise_scale)
    return losses


def chain_diagnostics(
    estimate: LLCEstimate, n_parameters: int, tolerance: float
) -> dict[str, np.ndarray]:
    """Per chain: `diverged` (non-finite losses, or an estimate above the regular model's
    n_parameters / 2, which no chain near w* can reach) and `stationary` (not: the estimates
    from the first and the second half of the draws differ by more than `tolerance` x
    max(|estimate|, 1) and by more than 3 standard errors, from batch means, 5 per half)."""
    draws = estimate.nbeta * (
        estimate.loss_traces[:, estimate.n_burnin :].astype(np.float64) - estimate.init_loss
    )
    early, late = np.array_split(draws, 2, axis=1)
    drift = late.mean(axis=1) - early.mean(axis=1)
    error = np.sqrt(_batch_mean_error(early) ** 2 + _batch_mean_error(late) ** 2)
    finite = np.isfinite(estimate.loss_traces).all(axis=1) & np.isfinite(estimate.llc_chains)
    diverged = ~finite | (np.nan_to_num(estimate.llc_chains, nan=np.inf) > n_parameters / 2)
    scale = np.maximum(np.abs(estimate.llc_chains), 1.0)
    with np.errstate(invalid="ignore"):
        moved = (np.abs(drift) > tolerance * scale) & (np.abs(drift) > 3 * error)
    return {"diverged": diverged, "stationary": finite & ~moved, "drift": drift}


def _batch_mean_error(values: np.ndarray, n_batches: int = 5) -> np.ndarray:
    """Standard error of each row's mean from the spread of its batch means (autocorrelation
    inflates a plain standard error's confidence)."""
    batches = np.array_split(values, min(n_batches, values.shape[1]), axis=1)
    means = np.stack([b.mean(axis=1) for b in batches], axis=1)
    if means.shape[1] < 2:
        return np.zeros(values.shape[0])
    return means.std(axis=1, ddof=1) / np.sqrt(means.shape[1])
