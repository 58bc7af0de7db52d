"""Modular addition (a + b mod p): the calibration family (Nanda et al., 2023).

Inputs are `[a, b, =]` with '=' the token id p; the loss is read at the last position only.
Following the TransformerLens grokking demo, every bias (`b_*`) is zero and frozen, so only
weight matrices train. The probe is the full p x p grid of inputs in a-major order
(row i = a * p + b).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from miscope_core.families import (
    Batch,
    Family,
    ModelConfig,
    ParamSpec,
    Preset,
    Probe,
    TrainingConfig,
    ValidationError,
    format_id_number,
    register_family,
)
from miscope_core.families.fourier import (
    fourier_basis,
    fourier_row_frequencies,
    fourier_row_labels,
)


def is_prime(n: int) -> bool:
    """Trial-division primality test (p is small)."""
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


# A static ceiling keeps the primality test instant; the real bound, from this machine's
# memory, is applied when a new variant is resolved (miscope_core.specs).
MAX_PRIME = 10_007


def _check_prime(value: int) -> str | None:
    if value > MAX_PRIME:
        return f"must be a prime number in 3..{MAX_PRIME}"
    return None if value >= 3 and is_prime(value) else "must be a prime number >= 3"


def smallest_train_fraction(p: int) -> float:
    """The smallest train_fraction (3 significant digits, rounded up) giving one training pair."""
    exact = 1 / (p * p)
    unit = 10.0 ** (math.floor(math.log10(exact)) - 2)
    return float(f"{math.ceil(exact / unit) * unit:.3g}")


def _check_fraction(value: float) -> str | None:
    return None if 0 < value < 1 else "must be strictly between 0 and 1"


def _check_seed(value: int) -> str | None:
    return None if 0 <= value < 2**63 else "must be a non-negative integer"


def nice_step(raw: float) -> int:
    """The 1, 2, 5 x 10^k value nearest to `raw` (at least 1), so checkpoint epochs are round."""
    if raw < 1:
        return 1
    magnitude = 10 ** int(np.floor(np.log10(raw)))
    return min((m * magnitude for m in (1, 2, 5, 10)), key=lambda step: abs(step - raw))


@dataclass
class ModuloAdditionTask:
    """Full-batch training on a fixed random split of the p x p grid."""

    train: Batch
    test: Batch
    full_batch: bool = True
    readout: str = "last"

    def train_batch(self, epoch: int, generator: Any) -> Batch:
        """The whole training split, every epoch."""
        return self.train

    def eval_sets(self) -> Mapping[str, Batch]:
        """Train and test splits."""
        return {"train": self.train, "test": self.test}


def grid_tokens(p: int) -> np.ndarray:
    """All (a, b, =) inputs, a-major: row a * p + b."""
    a, b = np.divmod(np.arange(p * p), p)
    return np.stack([a, b, np.full_like(a, p)], axis=1).astype(np.int64)


def train_indices(p: int, train_fraction: float, data_seed: int) -> np.ndarray:
    """Indices of the probe rows in the training split (torch.randperm with data_seed)."""
    import torch

    generator = torch.Generator().manual_seed(data_seed)
    order = torch.randperm(p * p, generator=generator).numpy()
    return np.sort(order[: int(train_fraction * p * p)])


@register_family
class ModuloAddition(Family):
    """One-layer transformer learning (a + b) mod p; groks with weight decay."""

    name = "modulo_addition"
    title = "Modular addition"
    description = (
        "One-layer ReLU transformer (no LayerNorm, biases frozen at zero) learning "
        "(a + b) mod p from a fraction of all pairs; the calibration model for grokking."
    )
    param_specs = (
        ParamSpec("prime", int, 113, "the modulus p (a prime >= 3)", _check_prime),
        ParamSpec("seed", int, 999, "model initialisation seed", _check_seed),
        ParamSpec("data_seed", int, 598, "seed of the train/test split", _check_seed),
        ParamSpec(
            "train_fraction",
            float,
            0.3,
            "fraction of the p^2 pairs used for training",
            _check_fraction,
        ),
    )
    presets = {
        "canonical": Preset(
            "canonical",
            "The literature's setting (Nanda et al. 2023; TransformerLens demo): p=113, 30% "
            "train, 25,000 epochs. Roughly an hour on 2 CPU cores, minutes on a GPU.",
            params={"prime": 113, "train_fraction": 0.3, "seed": 999, "data_seed": 598},
            training={"epochs": 25000},
        ),
        "quick": Preset(
            "quick",
            "CPU-sized: p=59, 40% train, 3,500 epochs. Memorises by ~epoch 400 (train loss "
            "< 1e-3) and groks (test accuracy > 99%) around epoch 2,500 -- about 3 minutes "
            "on 2 CPU cores.",
            params={"prime": 59, "train_fraction": 0.4, "seed": 999, "data_seed": 598},
            training={"epochs": 3500},
        ),
        "tiny": Preset(
            "tiny",
            "Plumbing only: p=13, 50% train, 60 epochs. Trains in seconds; does not grok.",
            params={"prime": 13, "train_fraction": 0.5, "seed": 0, "data_seed": 0},
            training={"epochs": 60, "checkpoints": "every:10"},
        ),
    }
    default_preset = "quick"
    size_param = "prime"

    def validate_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Per-parameter checks, then a training split holding at least one pair."""
        params = super().validate_params(raw)
        p, fraction = params["prime"], params["train_fraction"]
        if int(fraction * p * p) == 0:
            raise ValidationError(
                f"train_fraction={fraction!r} with prime={p} leaves 0 of the {p * p} pairs for "
                f"training; use train_fraction >= {smallest_train_fraction(p):g}"
            )
        return params

    def model_config(self, params: Mapping[str, Any]) -> ModelConfig:
        """1 layer, d_model 128, 4 heads of 32, d_mlp 512, vocab p + 1 ('=' is p), 3 positions."""
        p = params["prime"]
        return ModelConfig(
            n_layers=1,
            n_heads=4,
            d_model=128,
            d_head=32,
            d_mlp=512,
            d_vocab=p + 1,
            d_vocab_out=p,
            n_ctx=3,
            act_fn="relu",
        )

    def default_training(self, params: Mapping[str, Any]) -> TrainingConfig:
        """Full-batch AdamW, lr 1e-3, weight decay 1.0, betas (0.9, 0.98)."""
        return TrainingConfig(epochs=25000, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))

    def default_checkpoints(self, params: Mapping[str, Any], epochs: int) -> list[int]:
        """Log-spaced early epochs, ~60 evenly spaced, doubled density over 35-90% of the run."""
        step = nice_step(epochs / 60)
        early = [e for e in (0, 5, 10, 25, 50, 100, 200, 300) if e < step * 3]
        even = list(range(0, epochs + 1, step))
        dense = list(range(int(0.35 * epochs), int(0.9 * epochs), max(1, step // 2)))
        return sorted({e for e in early + even + dense + [epochs] if 0 <= e <= epochs})

    def is_frozen_parameter(self, name: str) -> bool:
        """Biases stay at zero, as in the TransformerLens grokking demo."""
        return name.endswith(".bias")

    def initial_weights(self, params: Mapping[str, Any], cfg: ModelConfig) -> Mapping[str, Any]:
        """The TL grokking demo's init: every weight N(0, 0.0707^2) for d_model 128, drawn in
        the demo's order (the bridge's native init scales W_O and W_out down to 0.050)."""
        from miscope_core.models.reference_init import tl_demo_initial_state

        return tl_demo_initial_state(cfg, self.model_seed(params))

    def make_task(
        self, params: Mapping[str, Any], device: str, training: TrainingConfig | None = None
    ) -> ModuloAdditionTask:
        """Split the grid with data_seed into train and test batches."""
        import torch

        p = params["prime"]
        tokens = torch.from_numpy(grid_tokens(p)).to(device)
        labels = (tokens[:, 0] + tokens[:, 1]) % p
        train_mask = torch.zeros(p * p, dtype=torch.bool)
        train_mask[train_indices(p, params["train_fraction"], params["data_seed"])] = True
        train_mask = train_mask.to(device)
        return ModuloAdditionTask(
            train=Batch(tokens[train_mask], labels[train_mask]),
            test=Batch(tokens[~train_mask], labels[~train_mask]),
        )

    def probe_rows(self, params: Mapping[str, Any]) -> int:
        """p^2: every (a, b) pair."""
        return params["prime"] ** 2

    def build_probe(self, params: Mapping[str, Any]) -> Probe:
        """Every (a, b) pair, a-major, with its answer (a + b) mod p."""
        p = params["prime"]
        tokens = grid_tokens(p)
        return Probe(tokens, self.probe_description(params), (tokens[:, 0] + tokens[:, 1]) % p)

    def probe_description(self, params: Mapping[str, Any]) -> str:
        """Full grid description."""
        p = params["prime"]
        return f"all {p}x{p} = {p * p} inputs [a, b, =], row a*{p}+b, answer (a+b) mod {p}"

    def context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Fourier basis over residues, grid shape, labels and the training mask."""
        p = params["prime"]
        mask = np.zeros(p * p, dtype=bool)
        mask[train_indices(p, params["train_fraction"], params["data_seed"])] = True
        return {
            **self.display_context(params),
            "token_basis": fourier_basis(p),
            "probe_labels": (np.arange(p * p) // p + np.arange(p * p) % p) % p,
            "probe_train_mask": mask,
            "readout_position": 2,
        }

    def display_context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Basis name, labels and grid shape (no train mask, so torch is never imported)."""
        p = params["prime"]
        return {
            "token_basis_name": "Fourier",
            "token_basis_labels": fourier_row_labels(p),
            "token_basis_frequency": fourier_row_frequencies(p),
            "frequency_labels": [f"k={k}" for k in range(1, p // 2 + 1)],
            "n_tokens": p,
            "probe_grid_shape": (p, p),
        }

    def context_keys(self) -> frozenset[str]:
        """Keys returned by context()."""
        return frozenset(
            {
                "token_basis",
                "token_basis_name",
                "token_basis_labels",
                "token_basis_frequency",
                "frequency_labels",
                "n_tokens",
                "probe_grid_shape",
                "probe_labels",
                "probe_train_mask",
                "readout_position",
            }
        )

    def variant_stem(self, params: Mapping[str, Any]) -> str:
        """e.g. p59_seed999_dseed598_tf0.4"""
        return (
            f"p{params['prime']}_seed{params['seed']}_dseed{params['data_seed']}"
            f"_tf{format_id_number(params['train_fraction'])}"
        )


# The TL grokking demo's printed initial losses (p=113, 30%, seeds 999/598; CALIBRATION §7.1).
DEMO_INITIAL_LOSS = {"train": 4.734958, "test": 4.733274}
DEMO_PARAMS = {"prime": 113, "train_fraction": 0.3, "seed": 999, "data_seed": 598}


def demo_initial_losses(params: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Full-batch float64 cross-entropy of the family's initial model on each split."""
    import torch

    from miscope_core.models.functional import forward_logits

    family = ModuloAddition()
    params = family.validate_params(params or DEMO_PARAMS)
    cfg = family.model_config(params)
    weights = _zero_biases(cfg) | dict(family.initial_weights(params, cfg))
    task = family.make_task(params, "cpu")
    losses = {}
    with torch.no_grad():
        for name, batch in task.eval_sets().items():
            logits = forward_logits(weights, cfg, batch.tokens, last_only=True).double()
            losses[name] = float(torch.nn.functional.cross_entropy(logits, batch.targets))
    return losses


def _zero_biases(cfg: ModelConfig) -> dict[str, Any]:
    import torch

    sizes = {"attn.q": cfg.n_heads * cfg.d_head, "attn.k": cfg.n_heads * cfg.d_head}
    sizes |= {"attn.v": cfg.n_heads * cfg.d_head, "attn.o": cfg.d_model}
    sizes |= {"mlp.in": cfg.d_mlp, "mlp.out": cfg.d_model}
    biases = {
        f"blocks.{layer}.{name}.bias": torch.zeros(size)
        for layer in range(cfg.n_layers)
        for name, size in sizes.items()
    }
    return biases | {"unembed.bias": torch.zeros(cfg.d_vocab_out)}
