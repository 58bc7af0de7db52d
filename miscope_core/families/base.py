"""The family protocol: what a model family contributes (context), never views."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch


class ValidationError(ValueError):
    """User input (a parameter, a config value, a schedule) broke a documented rule."""


MAX_EPOCHS = 1_000_000
DEFAULT_RESUME_EVERY = 500  # ~3x a checkpoint's size each; a densify re-trains < 500 epochs
MAX_BATCH_SIZE = 100_000
_TYPE_WORDS = {int: "an integer", float: "a number"}


def parse_number(name: str, value: Any, kind: type = float) -> int | float:
    """A finite int or float from a number or numeric string; bools, NaN and inf are refused.

    The error names the setting and the expected type, e.g. "lr must be a number, got 'abc'".
    """
    parsed = _parse_numeric_text(value) if isinstance(value, str) else value
    if isinstance(parsed, bool) or not isinstance(parsed, int | float | np.integer | np.floating):
        raise ValidationError(f"{name} must be {_TYPE_WORDS[kind]}, got {value!r}")
    if isinstance(parsed, int | np.integer):
        return int(parsed) if kind is int else _finite_float(name, parsed, value)
    number = _finite_float(name, parsed, value)
    if kind is int:
        if not number.is_integer():
            raise ValidationError(f"{name} must be an integer, got {value!r}")
        return int(number)
    return number


def _finite_float(name: str, parsed: Any, raw: Any) -> float:
    try:
        number = float(parsed)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValidationError(f"{name} must be a finite number, got {raw!r}")
    return number


def _parse_numeric_text(text: str) -> Any:
    for parse in (int, float):
        try:
            return parse(text.strip())
        except ValueError:
            pass
    return text


def format_id_number(value: float) -> str:
    """A number as it appears in a variant id: lossless (shortest repr), '0.4' stays '0.4'.

    Unlike '%g' (6 significant digits), two different floats never format alike, so two
    settings never share an id; integral values drop '.0' and '+' is dropped from exponents
    so ids keep to [A-Za-z0-9_.-].
    """
    text = repr(float(value))
    text = text.removesuffix(".0")
    return text.replace("+", "")


def _check_range(name: str, value: float, low: float, high: float, rule: str) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{name} must be {rule}, got {value!r}")


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
        if self.type in (int, float):
            return parse_number(self.name, value, self.type)
        try:
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
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "description": self.description,
        }


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
    # Keep an exact resume state (weights, optimizer moments, RNG) every this many epochs, so
    # a window can be re-trained densely from the nearest one (`miscope densify`); 0 = none.
    resume_every: int = DEFAULT_RESUME_EVERY

    OUTCOME_FIELDS: ClassVar[tuple[str, ...]] = ("lr", "weight_decay", "betas", "batch_size")

    def __post_init__(self) -> None:
        # Canonical types (weight_decay 1 and 1.0 are one setting), so ids and hashes agree
        # whichever front end typed the value.
        epochs = parse_number("epochs", self.epochs, int)
        _check_range("epochs", epochs, 1, MAX_EPOCHS, f"a positive integer in 1..{MAX_EPOCHS:,}")
        lr = parse_number("lr", self.lr)
        if not 0 < lr <= 10:
            raise ValidationError(f"lr must be in (0, 10], got {lr!r}")
        weight_decay = parse_number("weight_decay", self.weight_decay)
        _check_range("weight_decay", weight_decay, 0, 100, "in [0, 100]")
        for name, value in (
            ("epochs", epochs),
            ("lr", lr),
            ("weight_decay", weight_decay),
            ("betas", _parse_betas(self.betas)),
            ("batch_size", _parse_batch_size(self.batch_size)),
            ("checkpoints", _parse_schedule(self.checkpoints)),
            ("resume_every", _parse_resume_every(self.resume_every)),
        ):
            object.__setattr__(self, name, value)

    def with_overrides(self, overrides: Mapping[str, Any]) -> TrainingConfig:
        """Return a copy with overrides applied; unknown keys are listed in the error."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known, key=str)
        if unknown:
            raise ValidationError(
                f"Unknown training setting(s) {unknown}; valid settings: {sorted(known)}"
            )
        return replace(self, **overrides)

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


def _parse_betas(value: Any) -> tuple[float, float]:
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or len(parts) != 2:
        raise ValidationError(f"betas must be two numbers in [0, 1) like 0.9,0.98, got {value!r}")
    betas = tuple(parse_number("betas", part) for part in parts)
    if not all(0 <= b < 1 for b in betas):
        raise ValidationError(f"betas must be two numbers in [0, 1), got {value!r}")
    return betas


def _parse_batch_size(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "full")):
        return None
    size = parse_number("batch_size", value, int)
    _check_range(
        "batch_size", size, 1, MAX_BATCH_SIZE, f"'full' or an integer in 1..{MAX_BATCH_SIZE:,}"
    )
    return size


def _parse_resume_every(value: Any) -> int:
    every = parse_number("resume_every", value, int)
    _check_range(
        "resume_every",
        every,
        0,
        MAX_EPOCHS,
        f"0 (keep none) or a number of epochs in 1..{MAX_EPOCHS:,}",
    )
    return every


def _parse_schedule(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = ",".join(str(parse_number("checkpoints", v, int)) for v in value)
    if not isinstance(value, str):
        raise ValidationError(
            f"checkpoints must be 'default', 'every:N' or a comma list of epochs, got {value!r}"
        )
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
