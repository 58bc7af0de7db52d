"""Family registry: families register with @register_family; everyone reads FAMILIES."""

from __future__ import annotations

import importlib

from miscope_core.errors import unknown_name_error
from miscope_core.families.base import (
    Batch,
    ModelConfig,
    ParamSpec,
    Preset,
    Probe,
    TrainingConfig,
    ValidationError,
    format_id_number,
    parse_number,
)
from miscope_core.families.family import Family, Task

FAMILIES: dict[str, Family] = {}
BUILTIN_FAMILY_MODULES = (
    "miscope_core.families.modulo_addition",
    "miscope_core.families.induction",
)


def register_family(cls: type[Family]) -> type[Family]:
    """Class decorator: instantiate and register a family; duplicate names raise."""
    existing = FAMILIES.get(cls.name)
    if existing is not None and type(existing).__module__ != cls.__module__:
        raise ValueError(
            f"Family '{cls.name}' is registered twice: {type(existing).__module__} and "
            f"{cls.__module__}"
        )
    FAMILIES[cls.name] = cls()
    return cls


def load_builtin_families() -> None:
    """Import the built-in family modules (each registers itself)."""
    for module in BUILTIN_FAMILY_MODULES:
        importlib.import_module(module)


def get_family(name: str) -> Family:
    """Look up a family; a miss lists close matches and every registered family."""
    load_builtin_families()
    try:
        return FAMILIES[name]
    except KeyError:
        raise unknown_name_error("family", name, FAMILIES, "`miscope families`") from None


def list_families() -> list[str]:
    """Names of every registered family."""
    load_builtin_families()
    return sorted(FAMILIES)


__all__ = [
    "FAMILIES",
    "Batch",
    "Family",
    "ModelConfig",
    "ParamSpec",
    "Preset",
    "Probe",
    "Task",
    "TrainingConfig",
    "ValidationError",
    "format_id_number",
    "get_family",
    "list_families",
    "parse_number",
    "register_family",
]
