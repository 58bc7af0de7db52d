"""The Family base class every family module subclasses and registers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from miscope_core.families.base import (
    Batch,
    ModelConfig,
    ParamSpec,
    Preset,
    Probe,
    TrainingConfig,
    ValidationError,
)

if TYPE_CHECKING:
    import torch


DISPLAY_CONTEXT_KEYS = frozenset(
    {
        "token_basis_name",
        "token_basis_labels",
        "token_basis_frequency",
        "frequency_labels",
        "n_tokens",
        "probe_grid_shape",
    }
)


class Task(Protocol):
    """Training data of one variant, built by its family."""

    full_batch: bool
    readout: str  # "last": only the final position carries a loss; "all": every position may

    def train_batch(self, epoch: int, generator: torch.Generator) -> Batch:
        """The batch to take one optimisation step on at `epoch`."""

    def eval_sets(self) -> Mapping[str, Batch]:
        """Fixed batches whose loss and accuracy are recorded every epoch (e.g. train, test)."""


class Family:
    """A model family: architecture, parameter schema, task, probe and interpretive context."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    param_specs: ClassVar[tuple[ParamSpec, ...]]
    presets: ClassVar[Mapping[str, Preset]]
    default_preset: ClassVar[str]
    # The integer domain parameter that sets the probe's size: new variants are bounded by
    # this machine's memory through it (miscope_core.specs.check_memory names its range).
    size_param: ClassVar[str | None] = None

    def validate_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Fill defaults, reject unknown names (listing valid ones) and check every value."""
        specs = {spec.name: spec for spec in self.param_specs}
        unknown = sorted(set(raw) - set(specs), key=str)
        if unknown:
            raise ValidationError(
                f"Unknown parameter(s) {unknown} for family '{self.name}'; "
                f"valid parameters: {sorted(specs)}"
            )
        return {name: spec.validate(raw.get(name, spec.default)) for name, spec in specs.items()}

    def preset(self, name: str) -> Preset:
        """Look up a preset by name; the error lists the family's presets."""
        if isinstance(name, str) and name in self.presets:
            return self.presets[name]
        raise ValidationError(
            f"Unknown preset {name!r} for family '{self.name}'; "
            f"available presets: {sorted(self.presets)}"
        )

    def resolve(
        self,
        preset: str | None = None,
        params: Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], TrainingConfig]:
        """Combine preset, explicit parameters and training overrides into validated settings."""
        chosen = self.preset(preset or self.default_preset)
        merged_params = self.validate_params({**chosen.params, **(params or {})})
        config = self.default_training(merged_params)
        config = config.with_overrides({**chosen.training, **(training or {})})
        return merged_params, config

    def describe(self) -> dict[str, Any]:
        """Everything the Families page, the CLI and docs show about this family."""
        defaults = self.validate_params({})
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "parameters": [spec.describe() for spec in self.param_specs],
            "presets": {
                name: {
                    "description": p.description,
                    "params": dict(p.params),
                    "training": dict(p.training),
                }
                for name, p in self.presets.items()
            },
            "default_preset": self.default_preset,
            "architecture": self.model_config(defaults).as_dict(),
            "probe": self.probe_description(defaults),
            "context": sorted(self.context_keys()),
        }

    def probe_rows(self, params: Mapping[str, Any]) -> int:
        """Number of probe sequences (override with a formula when the probe is large)."""
        return len(self.build_probe(params).tokens)

    def estimate_memory_bytes(self, params: Mapping[str, Any]) -> int:
        """Rough peak of the analysis forward pass: every cached activation and the logits.

        One float32 per element of the residual-stream hooks (about 6 x d_model), q/k/v/z
        (4 x n_heads x d_head), attention scores and pattern (2 x n_heads x n_ctx), MLP
        pre/post (2 x d_mlp) per layer, plus d_vocab_out logits, at every position of every
        probe row.
        """
        cfg = self.model_config(params)
        per_layer = (
            6 * cfg.d_model
            + 4 * cfg.n_heads * cfg.d_head
            + 2 * cfg.n_heads * cfg.n_ctx
            + 2 * (cfg.d_mlp or 0)
        )
        per_position = cfg.d_vocab_out + cfg.n_layers * per_layer
        return 4 * self.probe_rows(params) * cfg.n_ctx * per_position

    # --- what every family implements -------------------------------------------------
    def model_config(self, params: Mapping[str, Any]) -> ModelConfig:
        """The transformer architecture for these parameters."""
        raise NotImplementedError

    def default_training(self, params: Mapping[str, Any]) -> TrainingConfig:
        """Default optimiser settings and length."""
        raise NotImplementedError

    def default_checkpoints(self, params: Mapping[str, Any], epochs: int) -> list[int]:
        """The family's checkpoint schedule: dense where transitions are expected."""
        raise NotImplementedError

    def is_frozen_parameter(self, name: str) -> bool:
        """Whether a state-dict entry stays at its initial value during training."""
        return False

    def initial_weights(self, params: Mapping[str, Any], cfg: ModelConfig) -> Mapping[str, Any]:
        """State-dict entries that replace the bridge's native initialization (none by default).

        A family whose reference implementation draws its weights differently from
        TransformerLens 4's bridge returns them here (tensors keyed like the bridge state dict).
        """
        return {}

    def model_seed(self, params: Mapping[str, Any]) -> int:
        """The seed that draws the initial weights."""
        return int(params["seed"])

    def make_task(
        self, params: Mapping[str, Any], device: str, training: TrainingConfig | None = None
    ) -> Task:
        """Build training and evaluation data (`training`: the run's settings, e.g. batch_size)."""
        raise NotImplementedError

    def build_probe(self, params: Mapping[str, Any]) -> Probe:
        """The fixed analysis input."""
        raise NotImplementedError

    def probe_description(self, params: Mapping[str, Any]) -> str:
        """One sentence on what the probe holds and in which order."""
        raise NotImplementedError

    def context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Interpretive context handed to analyzers (basis, labels, grid shape, ...)."""
        raise NotImplementedError

    def context_keys(self) -> frozenset[str]:
        """Names of the context entries this family provides."""
        raise NotImplementedError

    def display_context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The context entries views label axes with (basis names, labels, grid shape).

        Views call this in light processes, so an override must stay cheap and never import
        torch; the default filters `context()`.
        """
        return {k: v for k, v in self.context(params).items() if k in DISPLAY_CONTEXT_KEYS}

    def variant_stem(self, params: Mapping[str, Any]) -> str:
        """Readable id prefix from the domain parameters, e.g. 'p59_seed0_dseed598_tf0.4'."""
        raise NotImplementedError
