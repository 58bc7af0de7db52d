"""The family protocol: what a model family contributes (context), never views."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch


class ValidationError(ValueError):
    """User input (a parameter, a config value, a schedule) broke a documented rule."""


@dataclass(frozen=True)
class ParamSpec:
    """One typed domain parameter of a family, with its default and validation rule."""

    name: str
    type: type
    default: Any
    description: str
    check: Callable[[Any], str | None] | None = None

    def coerce(self, value: Any) -> Any:
        """Convert a CLI/form string or a number to this parameter's type, or raise."""
        try:
            if self.type is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            if self.type is int and isinstance(value, str):
                return int(value.strip())
            return self.type(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"Parameter '{self.name}' has incorrect type. Expected {self.type.__name__}, "
                f"got {value!r}"
            ) from None

    def validate(self, value: Any) -> Any:
        """Coerce and check a value; the error names the value and the rule."""
        value = self.coerce(value)
        problem = self.check(value) if self.check else None
        if problem:
            raise ValidationError(f"{self.name} {problem}, got {value!r}")
        return value

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description for docs, forms and the CLI."""
        return {"name": self.name, "type": self.type.__name__, "default": self.default,
                "description": self.description}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a TransformerLens-style transformer without LayerNorm."""

    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_vocab: int
    d_vocab_out: int
    n_ctx: int
    d_mlp: int | None = None
    act_fn: str = "relu"

    @property
    def attn_only(self) -> bool:
        """True when the blocks have no MLP."""
        return self.d_mlp is None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings. Everything but `epochs` and `checkpoints` shapes the outcome."""

    epochs: int
    lr: float = 1e-3
    weight_decay: float = 1.0
    betas: tuple[float, float] = (0.9, 0.98)
    batch_size: int | None = None
    checkpoints: str = "default"

    OUTCOME_FIELDS: ClassVar[tuple[str, ...]] = ("lr", "weight_decay", "betas", "batch_size")

    def __post_init__(self) -> None:
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValidationError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not self.lr > 0:
            raise ValidationError(f"lr must be > 0, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ValidationError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValidationError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValidationError(f"batch_size must be >= 1 or None, got {self.batch_size!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    def with_overrides(self, overrides: Mapping[str, Any]) -> TrainingConfig:
        """Return a copy with overrides applied; unknown keys are listed in the error."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValidationError(
                f"Unknown training setting(s) {unknown}; valid settings: {sorted(known)}"
            )
        converted = {key: _coerce_like(getattr(self, key), key, value)
                     for key, value in overrides.items()}
        return replace(self, **converted)

    def outcome_settings(self) -> dict[str, Any]:
        """The settings that change the trained weights (part of the variant's identity)."""
        return {name: getattr(self, name) for name in self.OUTCOME_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Inverse of as_dict."""
        data = dict(data)
        data["betas"] = tuple(data.get("betas", (0.9, 0.98)))
        return cls(**data)


def _coerce_like(current: Any, key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key == "betas":
            return tuple(float(part) for part in value.split(","))
        if key == "batch_size" and value.lower() in ("none", "full"):
            return None
        if key == "checkpoints":
            return value
        if key in ("epochs", "batch_size"):
            return int(value)
        return float(value)
    return value


@dataclass(frozen=True)
class Preset:
    """A named, documented combination of domain parameters and training settings."""

    name: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """Token sequences with their targets; `targets` is -1 where no loss is taken."""

    tokens: torch.Tensor
    targets: torch.Tensor


@dataclass(frozen=True)
class Probe:
    """The fixed analysis input: tokens, what each row is, and a content hash."""

    tokens: np.ndarray
    description: str
    targets: np.ndarray | None = None

    @property
    def hash(self) -> str:
        """sha256 of the token bytes and shape (the probe's identity in provenance)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.tokens, dtype=np.int64).tobytes())
        digest.update(json.dumps(list(self.tokens.shape)).encode())
        return digest.hexdigest()[:16]
