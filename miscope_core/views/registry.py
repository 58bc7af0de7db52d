"""The view catalog: `VIEWS`, `register_view`, `get_view`, `list_views` in one place.

A view is a declarative record (`ViewSpec`): a dotted name, a title, a one-line description,
a kind, the analyzers (or "metrics") whose artifacts it reads, typed keyword parameters, a
loader that only loads (selection and reshaping) and a renderer that only draws (Plotly).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from miscope_core.errors import unknown_name_error

PER_EPOCH = "per_epoch"
ACROSS_EPOCHS = "across_epochs"
CROSS_EPOCH = "cross_epoch"
CROSS_VARIANT = "cross_variant"
KINDS = (PER_EPOCH, ACROSS_EPOCHS, CROSS_EPOCH, CROSS_VARIANT)
VIEW_LISTING = "`miscope views` or docs/views.md"
METRICS = "metrics"  # pseudo-requirement: the variant's metrics.npz

TYPE_NAMES = {int: "an int", float: "a number", str: "a string", bool: "a bool"}


@dataclass(frozen=True)
class ViewParam:
    """A typed keyword parameter of a view.

    `upper` bounds an int either by a number or by a model-config field name ("d_mlp",
    "n_heads", "n_layers"): valid values are then 0..cfg[upper]-1.
    """

    name: str
    type: type
    default: Any
    description: str
    choices: tuple[Any, ...] = ()
    lower: int | float | None = None
    upper: int | float | str | None = None

    def valid_range(self, model: Mapping[str, Any]) -> tuple[Any, Any] | None:
        """(lowest, highest) valid value for this model, or None when unbounded."""
        if isinstance(self.upper, str):
            return (0, int(model.get(self.upper) or 0) - 1)
        if self.lower is None and self.upper is None:
            return None
        return (self.lower, self.upper)

    def rule(self, model: Mapping[str, Any]) -> str:
        """Human-readable rule, e.g. 'an int in 0..511' or 'one of ['all', 'mlp']'."""
        if self.choices:
            return f"one of {list(self.choices)}"
        bounds = self.valid_range(model)
        kind = TYPE_NAMES.get(self.type, self.type.__name__)
        if bounds is None:
            return kind
        low, high = bounds
        if low is None:
            return f"{kind} <= {high}"
        if high is None:
            return f"{kind} >= {low}"
        return f"{kind} in {low}..{high}"

    def describe(self) -> str:
        """One line for docs: name, type, default, rule."""
        if isinstance(self.upper, str):
            bound = f"; valid: 0..{self.upper}-1"
        elif self.choices or self.lower is not None or self.upper is not None:
            bound = f"; valid: {self.rule({})}"
        else:
            bound = ""
        return (
            f"`{self.name}` ({self.type.__name__}, default {self.default!r}{bound}): "
            f"{self.description}"
        )


@dataclass(frozen=True)
class ViewSpec:
    """One view of the catalog (see module docstring)."""

    name: str
    title: str
    description: str
    kind: str
    requires: tuple[str, ...]
    loader: Callable[..., dict[str, Any]]
    renderer: Callable[[dict[str, Any]], Any]
    params: tuple[ViewParam, ...] = ()
    aliases: tuple[str, ...] = ()
    context_keys: tuple[str, ...] = ()
    requires_mlp: bool = False
    uses_epoch: bool = True
    module: str = field(default="", compare=False)

    @property
    def epoch_source(self) -> str | None:
        """The analyzer whose per-epoch files define this view's epochs (per-epoch views)."""
        analyzers = [r for r in self.requires if r != METRICS]
        return analyzers[0] if analyzers else None

    def param(self, name: str) -> ViewParam:
        """Look up one parameter by name."""
        for param in self.params:
            if param.name == name:
                return param
        known = [p.name for p in self.params]
        raise KeyError(
            f"View '{self.name}' has no parameter '{name}'; its parameters: "
            f"{', '.join(known) or 'none'}"
        )

    def defaults(self) -> dict[str, Any]:
        """Default keyword parameters."""
        return {p.name: p.default for p in self.params}


VIEWS: dict[str, ViewSpec] = {}
ALIASES: dict[str, str] = {}


def register_view(spec: ViewSpec) -> ViewSpec:
    """Add a view (and its aliases); a duplicate name raises naming both modules."""
    if spec.kind not in KINDS:
        raise ValueError(f"View '{spec.name}' has kind {spec.kind!r}; valid kinds: {list(KINDS)}")
    module = spec.module or spec.loader.__module__
    spec = ViewSpec(**{**spec.__dict__, "module": module})
    for name in (spec.name, *spec.aliases):
        owner = VIEWS.get(name) or VIEWS.get(ALIASES.get(name, ""))
        if owner is not None and owner.module != module:
            raise ValueError(f"View name '{name}' registered twice: {owner.module} and {module}")
    VIEWS[spec.name] = spec
    ALIASES.update({alias: spec.name for alias in spec.aliases})
    return spec


_BUILTIN_VIEWS_LOADED = False


def load_builtin_views() -> None:
    """Import every module under miscope_core.views.library (each registers its views)."""
    from miscope_core.views import library

    global _BUILTIN_VIEWS_LOADED
    if _BUILTIN_VIEWS_LOADED:  # listing the package per lookup cost ~0.4 s per catalog call
        return
    for module in pkgutil.iter_modules(library.__path__):
        importlib.import_module(f"{library.__name__}.{module.name}")
    _BUILTIN_VIEWS_LOADED = True


def get_view(name: str) -> ViewSpec:
    """Look up a view by dotted name or alias; a miss lists close matches."""
    load_builtin_views()
    if name in VIEWS:
        return VIEWS[name]
    if name in ALIASES:
        return VIEWS[ALIASES[name]]
    raise unknown_name_error("view", name, [*VIEWS, *ALIASES], VIEW_LISTING)


def list_views(kind: str | None = None) -> list[ViewSpec]:
    """Every registered view (optionally of one kind), sorted by name."""
    load_builtin_views()
    if kind is not None and kind not in KINDS:
        raise ValueError(f"Unknown view kind {kind!r}; valid kinds: {list(KINDS)}")
    return sorted((v for v in VIEWS.values() if kind in (None, v.kind)), key=lambda v: v.name)
