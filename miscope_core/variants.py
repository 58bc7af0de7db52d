"""Variant identity and on-disk layout. A variant = family + every outcome-shaping setting."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miscope_core.families import TrainingConfig, ValidationError, get_family

VARIANT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True)
class VariantSpec:
    """Everything that determines a trained variant's weights."""

    family: str
    params: Mapping[str, Any]
    training: TrainingConfig

    @property
    def variant_id(self) -> str:
        """Readable id from the domain parameters, plus a short hash of non-default training."""
        family = get_family(self.family)
        stem = family.variant_stem(self.params)
        default = family.default_training(self.params).outcome_settings()
        chosen = self.training.outcome_settings()
        if chosen == default:
            return stem
        digest = hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:8]
        return f"{stem}_t{digest}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form stored in variant.json."""
        return {
            "family": self.family,
            "params": dict(self.params),
            "training": self.training.as_dict(),
        }

    def checkpoint_epochs(self) -> list[int]:
        """The epochs this run saves checkpoints at (validates the schedule)."""
        from miscope_core.training.schedule import resolve_checkpoint_epochs

        family = get_family(self.family)
        return resolve_checkpoint_epochs(
            self.training.checkpoints,
            self.training.epochs,
            lambda n: family.default_checkpoints(self.params, n),
        )

    def differences_from(self, stored: Mapping[str, Any]) -> list[str]:
        """Settings (family, params, outcome-shaping training) where a stored record differs."""
        stored_family = stored.get("family")
        if stored_family != self.family:
            return [f"family: stored {stored_family!r}, requested {self.family!r}"]
        stored_params = dict(stored.get("params") or {})
        names = sorted(set(stored_params) | set(self.params))
        found = [
            f"{name}: stored {stored_params.get(name)!r}, requested {self.params.get(name)!r}"
            for name in names
            if stored_params.get(name) != self.params.get(name)
        ]
        stored_training = TrainingConfig.from_dict(stored["training"]).outcome_settings()
        chosen = self.training.outcome_settings()
        found += [
            f"{name}: stored {stored_training[name]!r}, requested {chosen[name]!r}"
            for name in chosen
            if stored_training[name] != chosen[name]
        ]
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantSpec:
        """Inverse of as_dict (parameters re-validated by the family)."""
        family = get_family(data["family"])
        return cls(
            data["family"],
            family.validate_params(data["params"]),
            TrainingConfig.from_dict(data["training"]),
        )


@dataclass(frozen=True)
class VariantPaths:
    """Where a variant's files live under its directory."""

    root: Path

    @property
    def variant_json(self) -> Path:
        """Parameters, seeds, training config, probe hash, versions."""
        return self.root / "variant.json"

    @property
    def metrics(self) -> Path:
        """Per-epoch train/test loss and accuracy."""
        return self.root / "metrics.npz"

    @property
    def checkpoints(self) -> Path:
        """Directory of epoch_NNNNNN.safetensors files."""
        return self.root / "checkpoints"

    @property
    def resume(self) -> Path:
        """Optimizer, RNG and metrics state for exact resume."""
        return self.root / "checkpoints" / "resume.safetensors"

    @property
    def artifacts(self) -> Path:
        """Analysis output root."""
        return self.root / "artifacts"


def check_stored_settings(paths: VariantPaths, spec: VariantSpec) -> None:
    """Refuse to resume or extend a variant whose variant.json records other settings."""
    if not paths.variant_json.exists():
        return
    from miscope_core.io import CorruptFileError, read_json

    stored = read_json(paths.variant_json)
    try:
        differences = spec.differences_from(stored)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(paths.variant_json, f"unreadable settings ({exc!r})") from None
    if differences:
        raise ValidationError(
            f"Variant {spec.variant_id} already exists in {paths.root} with other settings "
            f"({'; '.join(differences)}); resuming would mix two runs. Train into another "
            f"--data-dir, or delete that variant directory to retrain it"
        )


def check_variant_id(variant_id: str) -> str:
    """Reject ids that could escape the workspace (../, slashes, odd characters)."""
    if not isinstance(variant_id, str) or not VARIANT_ID_PATTERN.match(variant_id):
        raise ValueError(
            f"Invalid variant id {variant_id!r}: ids use letters, digits, '_', '-', '.' only "
            f"(e.g. p59_seed999_dseed598_tf0.4)"
        )
    return variant_id
