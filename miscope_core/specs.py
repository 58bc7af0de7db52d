"""From user input to a VariantSpec: the one resolve every front end (page, CLI, calibration) uses.

Everything here runs before anything is written: a request that fails raises ValidationError
naming the setting, the value and the valid range.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from miscope_core.families import Family, ValidationError, get_family
from miscope_core.variants import VariantSpec

MEMORY_FRACTION = 0.5  # of physical RAM one analysis forward pass may take
MAX_CHECKPOINTS = 10_000
MAX_SEEDS = 4096  # members of one seed group (miscope_core.training.multiseed)
_CUDA = re.compile(r"cuda(?::(\d+))?")


def resolve_variant_spec(
    family: str,
    preset: str | None = None,
    params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    checkpoints: str | None = None,
) -> VariantSpec:
    """Family + preset + domain params + training overrides -> a validated VariantSpec.

    Blank values (None, "") mean "use the preset's"; `epochs` and `checkpoints` are
    shorthands for the overrides of the same name.
    """
    fam = _family(family)
    if preset is not None and not isinstance(preset, str):
        raise ValidationError(f"preset must be a name like {fam.default_preset!r}, got {preset!r}")
    chosen_params = _without_blanks("params", params)
    chosen_training = _without_blanks("training settings", overrides)
    for name, value in (("epochs", epochs), ("checkpoints", checkpoints)):
        if value not in (None, ""):
            chosen_training[name] = value
    resolved, config = fam.resolve(preset or None, chosen_params, chosen_training)
    check_memory(fam, resolved)
    spec = VariantSpec(fam.name, resolved, config)
    n_checkpoints = len(spec.checkpoint_epochs())
    if n_checkpoints > MAX_CHECKPOINTS:
        raise ValidationError(
            f"checkpoints {config.checkpoints!r} gives {n_checkpoints:,} checkpoints over "
            f"{config.epochs:,} epochs; at most {MAX_CHECKPOINTS:,} are allowed (use a larger "
            f"every:N or 'default')"
        )
    return spec


def seed_specs(
    spec: VariantSpec, seeds: Sequence[int], seed_param: str = "seed"
) -> list[VariantSpec]:
    """The member specs: `spec` with its `seed_param` set to each seed (validated, distinct)."""
    family = get_family(spec.family)
    # only seeds: the members must share one architecture and data shape to be stacked
    names = [p.name for p in family.param_specs if p.name.endswith("seed")]
    if seed_param not in names:
        raise ValidationError(f"seed_param must be one of {names}, got {seed_param!r}")
    seeds = list(seeds)
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise ValidationError(f"seeds must list 1..{MAX_SEEDS} seeds, got {len(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ValidationError(f"seeds must be distinct, got {seeds}")
    return [
        replace(spec, params=family.validate_params({**spec.params, seed_param: s})) for s in seeds
    ]


def check_device(device: Any) -> str | None:
    """None/'auto' (CUDA when present, else CPU), 'cpu', or an available 'cuda[:N]'/'mps'."""
    if device in (None, "", "auto"):
        return None
    name = device.strip().lower() if isinstance(device, str) else None
    if name == "cpu":
        return name
    match = _CUDA.fullmatch(name or "")
    if match:
        return _check_cuda(name, int(match.group(1) or 0))
    if name == "mps":
        import torch

        if torch.backends.mps.is_available():
            return name
        raise ValidationError("device 'mps' requested but MPS is not available; use 'cpu'")
    raise ValidationError(
        f"Unknown device {device!r}; valid devices: 'cpu', 'cuda', 'cuda:N', 'mps', "
        f"or leave it unset to use CUDA when available"
    )


def _check_cuda(name: str, index: int) -> str:
    import torch

    if not torch.cuda.is_available():
        raise ValidationError(
            f"device {name!r} requested but no CUDA GPU is available here; use 'cpu' or leave "
            f"the device unset"
        )
    count = torch.cuda.device_count()
    if index >= count:
        raise ValidationError(f"device {name!r} does not exist; valid: cuda:0..cuda:{count - 1}")
    return name


def total_memory_bytes() -> int:
    """Physical memory of this machine (psutil when installed, else sysconf)."""
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_budget_bytes() -> int:
    """What one analysis forward pass may take: a fixed share of physical RAM.

    Total rather than currently free memory, so a request valid now stays valid later.
    """
    return int(total_memory_bytes() * MEMORY_FRACTION)


def check_memory(family: Family, params: Mapping[str, Any]) -> None:
    """Refuse parameters whose probe forward pass would not fit in this machine's memory."""
    need, budget = family.estimate_memory_bytes(params), memory_budget_bytes()
    if need <= budget:
        return
    size_param = getattr(family, "size_param", None)
    where = f"{size_param}={params[size_param]!r}" if size_param else f"parameters {dict(params)}"
    message = (
        f"{where} needs about {need / 1e9:.1f} GB for the analysis forward pass over "
        f"its {family.probe_rows(params):,}-row probe, more than this machine's budget "
        f"of {budget / 1e9:.1f} GB ({MEMORY_FRACTION:.0%} of its RAM)"
    )
    if size_param:
        largest = largest_fitting_value(family, params, size_param, budget)
        message += (
            f"; on this machine {size_param} must be at most {largest}"
            if largest is not None
            else ""
        )
    raise ValidationError(message)


def largest_fitting_value(
    family: Family, params: Mapping[str, Any], name: str, budget: int
) -> int | None:
    """The largest valid value of integer parameter `name` whose probe fits in `budget`."""

    def fits(value: int) -> bool:
        return family.estimate_memory_bytes({**params, name: value}) <= budget

    low, high = 1, int(params[name])
    if not fits(low):
        return None
    while high - low > 1:  # the estimate grows with the size parameter
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    for value in range(low, 0, -1):
        try:
            family.validate_params({**params, name: value})
            return value
        except ValidationError:
            continue
    return None


def _family(name: Any) -> Family:
    if not isinstance(name, str):
        raise ValidationError(f"family must be a family name, got {name!r}")
    try:
        return get_family(name)
    except KeyError as exc:
        raise ValidationError(str(exc.args[0])) from None


def _without_blanks(what: str, values: Any) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ValidationError(f"{what} must be a mapping of name to value, got {values!r}")
    return {
        key: value
        for key, value in values.items()
        if not (value is None or (isinstance(value, str) and not value.strip()))
    }
