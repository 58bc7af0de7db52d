"""Analyzer registry: analyzers register with @register_analyzer; everyone reads ANALYZERS."""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from miscope_core.errors import missing_context_reason, unknown_name_error
from miscope_core.families import ModelConfig

PER_EPOCH = "per_epoch"
CROSS_EPOCH = "cross_epoch"


@dataclass(frozen=True)
class AnalyzerSpec:
    """A declarative record of one analyzer: what it needs, computes and writes.

    per_epoch analyzers: `compute(inputs: EpochInputs, **params) -> dict[str, ndarray]`, with an
    optional `summarize(arrays, **params) -> dict[str, scalar|small array]` for the summary tier.
    cross_epoch analyzers: `compute(series: EpochSeries, **params) -> dict[str, ndarray]`,
    reading the per-epoch artifacts of the analyzers named in `depends_on`.
    Arrays that hold one entry per layer stack layers on their first axis.
    """

    name: str
    description: str
    kind: str
    compute: Callable[..., dict[str, Any]]
    outputs: tuple[str, ...]
    hooks: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    context_keys: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    summarize: Callable[..., dict[str, Any]] | None = None
    summary_outputs: tuple[str, ...] = ()
    requires_mlp: bool = False
    mlp_outputs: tuple[str, ...] = ()
    needs_model: bool = False
    in_default_battery: bool = True
    source: str = ""
    version: int = 1

    def outputs_for(self, cfg: ModelConfig) -> tuple[str, ...]:
        """Declared output keys for this architecture (mlp_outputs only when there are MLPs)."""
        if cfg.attn_only:
            return tuple(k for k in self.outputs if k not in self.mlp_outputs)
        return self.outputs

    def summary_outputs_for(self, cfg: ModelConfig) -> tuple[str, ...]:
        """Declared summary keys for this architecture (keys in mlp_outputs only with MLPs)."""
        if cfg.attn_only:
            return tuple(k for k in self.summary_outputs if k not in self.mlp_outputs)
        return self.summary_outputs

    def hook_names(self, cfg: ModelConfig) -> list[str]:
        """Concrete hook names, with '{layer}' expanded over every layer."""
        names = []
        for pattern in self.hooks:
            if "{layer}" in pattern:
                names.extend(pattern.format(layer=layer) for layer in range(cfg.n_layers))
            else:
                names.append(pattern)
        return names

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Default parameters with overrides; unknown names are listed in the error."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.params))
        if unknown:
            raise ValueError(
                f"Analyzer '{self.name}' has no parameter(s) {unknown}; "
                f"its parameters: {dict(self.params)}"
            )
        return {**self.params, **overrides}

    def fingerprint(self, params: Mapping[str, Any]) -> str:
        """Hash of name, version and parameters: a change makes the artifacts stale."""
        payload = json.dumps(
            {"name": self.name, "version": self.version, "params": params},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def not_applicable_reason(
        self, context_keys: frozenset[str], cfg: ModelConfig, family: str = "this family"
    ) -> str | None:
        """Why this analyzer cannot run on a variant, in words, or None when it can."""
        missing = [key for key in self.context_keys if key not in context_keys]
        if missing:
            return missing_context_reason(missing, family)
        if self.requires_mlp and cfg.attn_only:
            return "needs MLP layers; this model is attention-only"
        return None


ANALYZERS: dict[str, AnalyzerSpec] = {}


def register_analyzer(spec: AnalyzerSpec) -> AnalyzerSpec:
    """Add an analyzer to the registry; a duplicate name raises naming both modules."""
    if spec.kind not in (PER_EPOCH, CROSS_EPOCH):
        raise ValueError(
            f"Analyzer kind must be '{PER_EPOCH}' or '{CROSS_EPOCH}', got {spec.kind!r}"
        )
    existing = ANALYZERS.get(spec.name)
    if existing is not None and existing.compute.__module__ != spec.compute.__module__:
        raise ValueError(
            f"Analyzer '{spec.name}' registered twice: "
            f"{existing.compute.__module__} and {spec.compute.__module__}"
        )
    ANALYZERS[spec.name] = spec
    return spec


_BUILTIN_ANALYZERS_LOADED = False


def load_builtin_analyzers() -> None:
    """Import every module under miscope_core.analysis.analyzers (each registers itself)."""
    from miscope_core.analysis import analyzers

    global _BUILTIN_ANALYZERS_LOADED
    if _BUILTIN_ANALYZERS_LOADED:  # listing the package per lookup cost ~0.4 s per catalog call
        return
    for module in pkgutil.iter_modules(analyzers.__path__):
        importlib.import_module(f"{analyzers.__name__}.{module.name}")
    _BUILTIN_ANALYZERS_LOADED = True


def get_analyzer(name: str) -> AnalyzerSpec:
    """Look up an analyzer; a miss lists close matches."""
    load_builtin_analyzers()
    try:
        return ANALYZERS[name]
    except KeyError:
        raise unknown_name_error("analyzer", name, ANALYZERS, "docs/analyzers.md") from None


def list_analyzers(kind: str | None = None) -> list[AnalyzerSpec]:
    """Every registered analyzer (optionally of one kind), sorted by name."""
    load_builtin_analyzers()
    return sorted((a for a in ANALYZERS.values() if kind in (None, a.kind)), key=lambda a: a.name)


def default_battery() -> list[str]:
    """Names of the analyzers a plain `miscope analyze` runs."""
    return [a.name for a in list_analyzers() if a.in_default_battery]


def with_dependencies(names: list[str]) -> list[str]:
    """The given analyzers plus everything they depend on, dependencies first."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        for dependency in get_analyzer(name).depends_on:
            visit(dependency)
        if name not in ordered:
            ordered.append(name)

    for name in names:
        visit(name)
    return ordered
