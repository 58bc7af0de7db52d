"""In-context copying: a 2-layer attention-only transformer that forms induction heads.

The phase change of Olsson et al. (2022), "In-context learning and induction heads": the loss on
repeated tokens sits on a plateau, then drops abruptly as a layer-1 head starts attending from
each token to the token after its previous occurrence (an induction head), fed by a layer-0
previous-token head.

Data. Every training sequence is a segment of uniformly random tokens, of random length L in
[min_period, half_length], repeated periodically to fill 2 * half_length positions. The length
varies so that no fixed-offset positional head can solve the task; only induction copies at
every L. Measured: with min_period = half_length (fixed halves) a layer-0 head learns the
positional shortcut and no previous-token head forms; with half_length 8 and min_period 2 the
few possible offsets still allow partial positional solutions and learning is gradual; with
half_length 16 the drop is abrupt and coincides with the induction head. The loss is next-token
cross-entropy at every position. One training "epoch" is one AdamW step on a fresh minibatch
drawn from the trainer's generator (seeded by data_seed; saved and restored for exact resume).

Evaluation sets, recorded every epoch as `<name>_loss` / `<name>_accuracy`: `train`, a fixed
sample of the training distribution; `test`, held-out sequences in the canonical format [x, x]
(x = half_length distinct random tokens), every position scored; and the task metrics on the
same [x, x] sequences: `first_half` scores the predictions of tokens 1..H-1 (unpredictable,
about ln(vocab)), `repeated_half` those of tokens H+1..2H-1 (solvable by induction). The
prediction of token H (the first repeat) needs no induction and belongs to neither half. The
evaluation sets and the probe use fixed seeds: every variant of a given size is evaluated and
probed on the same sequences.
"""

from __future__ import annotations

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
    register_family,
)

EVAL_SEED = 20220308  # the date of Olsson et al.; fixed so that every variant sees the same data
PROBE_SEED = 0
EVAL_SEQUENCES = 64
PROBE_SEQUENCES = 64
DEFAULT_BATCH_SIZE = 64


def _check_seed(value: int) -> str | None:
    return None if 0 <= value < 2**63 else "must be a non-negative integer"


def _check_range(low: int, high: int):
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


# --- data ----------------------------------------------------------------------------------
def repeated_sequences(n: int, vocab_size: int, half_length: int, seed: int) -> np.ndarray:
    """[n, 2H] int64 rows [x, x], each x `half_length` distinct tokens (numpy, seeded)."""
    rng = np.random.default_rng(seed)
    first = np.argsort(rng.random((n, vocab_size)), axis=1)[:, :half_length]
    return np.concatenate([first, first], axis=1).astype(np.int64)


def next_token_targets(tokens: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Next-token targets at the given positions, -1 elsewhere (and at the last position)."""
    targets = np.full_like(tokens, -1)
    keep = positions[positions < tokens.shape[1] - 1]
    targets[:, keep] = tokens[:, keep + 1]
    return targets


def half_positions(half_length: int) -> dict[str, np.ndarray]:
    """Query positions whose next token is scored by each evaluation set."""
    return {
        "first_half": np.arange(0, half_length - 1),
        "repeated_half": np.arange(half_length, 2 * half_length - 1),
    }


def periodic_batch(
    n: int, vocab_size: int, n_ctx: int, min_period: int, max_period: int, generator
):
    """Training tokens [n, n_ctx]: a random segment of random length, repeated periodically."""
    import torch

    segment = torch.randint(0, vocab_size, (n, max_period), generator=generator)
    period = torch.randint(min_period, max_period + 1, (n, 1), generator=generator)
    return segment.gather(1, torch.arange(n_ctx)[None, :] % period)


# --- source positions (context for attention.source_scores) ----------------------------------
def induction_source_positions(half_length: int) -> np.ndarray:
    """For each position t of [x, x]: the position after the previous occurrence of token t.

    t - half_length + 1 in the repeated half, -1 in the first half.
    """
    t = np.arange(2 * half_length)
    return np.where(t >= half_length, t - half_length + 1, -1)


def previous_token_positions(n_ctx: int) -> np.ndarray:
    """For each position t: t - 1 (and -1 at position 0)."""
    return np.arange(n_ctx) - 1


# --- task ----------------------------------------------------------------------------------
@dataclass
class InductionTask:
    """Minibatches of periodic random sequences; fixed [x, x] evaluation sets."""

    vocab_size: int
    half_length: int
    min_period: int
    batch_size: int
    evaluation: Mapping[str, Batch]
    device: str = "cpu"
    full_batch: bool = False
    readout: str = "all"

    def train_batch(self, epoch: int, generator) -> Batch:
        """A fresh minibatch drawn from `generator` (the epoch number is not used)."""
        import torch

        tokens = periodic_batch(
            self.batch_size,
            self.vocab_size,
            2 * self.half_length,
            self.min_period,
            self.half_length,
            generator,
        )
        targets = torch.full_like(tokens, -1)
        targets[:, :-1] = tokens[:, 1:]
        return Batch(tokens.to(self.device), targets.to(self.device))

    def eval_sets(self) -> Mapping[str, Batch]:
        """train (fixed training-distribution sample), test (held-out [x, x], every position),
        first_half and repeated_half (the same [x, x] sequences, targets masked per half)."""
        return self.evaluation


@register_family
class InductionHeads(Family):
    """Two-layer attention-only transformer copying repeated random tokens in context."""

    name = "induction"
    title = "In-context copying (induction heads)"
    description = (
        "Two-layer attention-only transformer (d_model 64, 4 heads per layer, learned positions, "
        "no LayerNorm) predicting the next token of repeated random segments. Shows the "
        "induction-head phase change of Olsson et al. (2022); one epoch is one minibatch step."
    )
    param_specs = (
        ParamSpec("vocab_size", int, 32, "number of distinct tokens", _check_range(4, 1024)),
        ParamSpec(
            "half_length",
            int,
            16,
            "H: sequences hold 2H tokens; probe rows are [x, x] "
            "with H distinct tokens (H <= vocab_size)",
            _check_range(2, 256),
        ),
        ParamSpec(
            "min_period",
            int,
            2,
            "shortest repeated segment in training sequences "
            "(lengths are uniform in min_period..H; H gives the positional shortcut)",
            _check_range(1, 256),
        ),
        ParamSpec("seed", int, 0, "model initialisation seed", _check_seed),
        ParamSpec("data_seed", int, 0, "seed of the training minibatch stream", _check_seed),
    )
    presets = {
        "canonical": Preset(
            "canonical",
            "Larger: vocabulary 64, 2x32 tokens, 2,000 steps. Repeated-half loss near ln 64 "
            "until step ~260, drops to ~1.8 by step 440 as the induction head forms, again at "
            "~1,100-1,300, < 0.03 by 1,500. About 6.5 minutes on 2 busy CPU cores.",
            params={
                "vocab_size": 64,
                "half_length": 32,
                "min_period": 2,
                "seed": 0,
                "data_seed": 0,
            },
            training={"epochs": 2000},
        ),
        "quick": Preset(
            "quick",
            "CPU-sized: vocabulary 32, 2x16 tokens, 1,000 steps. Repeated-half loss stays near "
            "ln 32 until step ~150, drops to ~1 by step 350 as a layer-1 induction head forms, "
            "then to < 0.05 by step 800. About 2.5 minutes on 2 busy CPU cores.",
            params={
                "vocab_size": 32,
                "half_length": 16,
                "min_period": 2,
                "seed": 0,
                "data_seed": 0,
            },
            training={"epochs": 1000},
        ),
        "tiny": Preset(
            "tiny",
            "Plumbing only: vocabulary 16, 2x4 tokens, 30 steps; no induction head forms.",
            params={"vocab_size": 16, "half_length": 4, "min_period": 2, "seed": 0, "data_seed": 0},
            training={"epochs": 30, "checkpoints": "every:10"},
        ),
    }
    default_preset = "quick"

    def validate_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Per-parameter checks, then half_length <= vocab_size and min_period <= half_length."""
        params = super().validate_params(raw)
        if params["half_length"] > params["vocab_size"]:
            raise ValidationError(
                f"half_length must be <= vocab_size ({params['vocab_size']}) so that a half "
                f"holds distinct tokens, got {params['half_length']}"
            )
        if params["min_period"] > params["half_length"]:
            raise ValidationError(
                f"min_period must be <= half_length ({params['half_length']}), "
                f"got {params['min_period']}"
            )
        return params

    def model_config(self, params: Mapping[str, Any]) -> ModelConfig:
        """2 layers, 4 heads of 16, d_model 64, no MLP, context 2H."""
        v = params["vocab_size"]
        return ModelConfig(
            n_layers=2,
            n_heads=4,
            d_model=64,
            d_head=16,
            d_mlp=None,
            d_vocab=v,
            d_vocab_out=v,
            n_ctx=2 * params["half_length"],
        )

    def default_training(self, params: Mapping[str, Any]) -> TrainingConfig:
        """AdamW lr 3e-3, weight decay 0.01, betas (0.9, 0.98), 64 sequences per step."""
        return TrainingConfig(
            epochs=2000,
            lr=3e-3,
            weight_decay=0.01,
            betas=(0.9, 0.98),
            batch_size=DEFAULT_BATCH_SIZE,
        )

    def default_checkpoints(self, params: Mapping[str, Any], epochs: int) -> list[int]:
        """Every 1% of the run over its first 60% (the phase change falls at ~20-40% of the
        presets' runs), every 4% after, and a few early epochs."""
        dense = range(0, int(0.6 * epochs) + 1, max(1, epochs // 100))
        coarse = range(0, epochs + 1, max(1, epochs // 25))
        early = [e for e in (0, 1, 2, 5) if e < epochs]
        return sorted({*dense, *coarse, *early, epochs})

    def make_task(
        self, params: Mapping[str, Any], device: str, training: TrainingConfig | None = None
    ) -> InductionTask:
        """Periodic training minibatches and the fixed first/repeated-half evaluation sets."""
        batch_size = (
            training.batch_size
            if training is not None and training.batch_size
            else DEFAULT_BATCH_SIZE
        )
        return InductionTask(
            params["vocab_size"],
            params["half_length"],
            params["min_period"],
            batch_size,
            self._evaluation_sets(params, device),
            device,
        )

    def _evaluation_sets(self, params: Mapping[str, Any], device: str) -> dict[str, Batch]:
        import torch

        h, v = params["half_length"], params["vocab_size"]
        generator = torch.Generator().manual_seed(EVAL_SEED)
        train = periodic_batch(EVAL_SEQUENCES, v, 2 * h, params["min_period"], h, generator)
        tokens = repeated_sequences(EVAL_SEQUENCES, v, h, EVAL_SEED)
        shared = torch.from_numpy(tokens).to(device)  # one tensor: the trainer reuses its logits
        scored = {"test": np.arange(2 * h - 1), **half_positions(h)}
        return {
            "train": Batch(
                train.to(device),
                torch.from_numpy(next_token_targets(train.numpy(), np.arange(2 * h))).to(device),
            ),
            **{
                name: Batch(
                    shared, torch.from_numpy(next_token_targets(tokens, positions)).to(device)
                )
                for name, positions in scored.items()
            },
        }

    def build_probe(self, params: Mapping[str, Any]) -> Probe:
        """PROBE_SEQUENCES rows [x, x] (fixed seed) with next-token targets (-1 at the end)."""
        tokens = repeated_sequences(
            PROBE_SEQUENCES, params["vocab_size"], params["half_length"], PROBE_SEED
        )
        positions = np.arange(tokens.shape[1])
        return Probe(tokens, self.probe_description(params), next_token_targets(tokens, positions))

    def probe_description(self, params: Mapping[str, Any]) -> str:
        """What the probe rows are."""
        h, v = params["half_length"], params["vocab_size"]
        return (
            f"{PROBE_SEQUENCES} sequences [x, x] of 2x{h} tokens, x = {h} distinct tokens "
            f"of {v} (seed {PROBE_SEED}); targets are the next tokens"
        )

    def context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Positions, previous-occurrence offsets and the readout (no token basis)."""
        h = params["half_length"]
        probe = self.build_probe(params)
        return {
            **self.display_context(params),
            "token_positions": np.arange(2 * h),
            "half_length": h,
            "prev_token_offset": 1,
            "previous_occurrence_position": np.where(
                np.arange(2 * h) >= h, np.arange(2 * h) - h, -1
            ),
            "induction_source_position": induction_source_positions(h),
            "previous_token_position": previous_token_positions(2 * h),
            "repeated_half_mask": np.arange(2 * h) >= h,
            "readout_position": 2 * h - 2,
            "probe_labels": probe.tokens[:, 2 * h - 1],
        }

    def display_context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Token count, sequence length and position labels (cheap, no torch)."""
        h = params["half_length"]
        return {
            "n_tokens": params["vocab_size"],
            "probe_sequence_length": 2 * h,
            "position_labels": [f"x{i}" for i in range(h)] + [f"x{i}'" for i in range(h)],
        }

    def context_keys(self) -> frozenset[str]:
        """Keys returned by context()."""
        return frozenset(
            {
                "n_tokens",
                "probe_sequence_length",
                "position_labels",
                "token_positions",
                "half_length",
                "prev_token_offset",
                "previous_occurrence_position",
                "induction_source_position",
                "previous_token_position",
                "repeated_half_mask",
                "readout_position",
                "probe_labels",
            }
        )

    def variant_stem(self, params: Mapping[str, Any]) -> str:
        """e.g. v32_h8_m2_seed0_dseed0"""
        return (
            f"v{params['vocab_size']}_h{params['half_length']}_m{params['min_period']}"
            f"_seed{params['seed']}_dseed{params['data_seed']}"
        )
