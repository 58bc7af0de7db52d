"""Resolve a view for a variant: check applicability, validate parameters, pick the epoch, draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miscope_core.errors import missing_context_reason
from miscope_core.views.regimes import add_regime_bands, source_regime_segments
from miscope_core.views.registry import (
    ACROSS_EPOCHS,
    METRICS,
    PER_EPOCH,
    ViewParam,
    ViewSpec,
    get_view,
    list_views,
)
from miscope_core.views.source import VariantSource, nearest, open_source
from miscope_core.workspace import Workspace


class ViewNotAvailableError(LookupError):
    """A view cannot be drawn for a variant; the message says why and what to run."""


@dataclass(frozen=True)
class ViewAvailability:
    """Whether a view can be drawn for a variant, and if not, why (and how to fix it)."""

    name: str
    available: bool
    reason: str = ""
    applicable: bool = True


def view_availability(source: VariantSource, spec: ViewSpec) -> ViewAvailability:
    """Applicability (family context, MLP) first, then whether the artifacts exist."""
    missing_context = [k for k in spec.context_keys if k not in source.context_keys]
    if missing_context:
        reason = missing_context_reason(missing_context, source.family_name)
        return ViewAvailability(spec.name, False, f"not applicable: {reason}", applicable=False)
    if spec.requires_mlp and not source.model.get("d_mlp"):
        return ViewAvailability(
            spec.name,
            False,
            "not applicable: needs MLP layers; this model is attention-only",
            applicable=False,
        )
    analyzer_reason = analyzer_not_applicable(source, spec)
    if analyzer_reason:
        return ViewAvailability(
            spec.name, False, f"not applicable: {analyzer_reason}", applicable=False
        )
    if METRICS in spec.requires and not source.has_metrics():
        return ViewAvailability(
            spec.name,
            False,
            f"no metrics.npz yet; train the variant (`miscope train {source.family_name} ...`)",
        )
    missing = [a for a in spec.requires if a != METRICS and not source.store.has(a)]
    if missing:
        return ViewAvailability(
            spec.name,
            False,
            f"missing artifacts of {missing}; run "
            f"`miscope analyze {source.variant_id} --analyzers "
            f"{','.join(missing)}`",
        )
    return ViewAvailability(spec.name, True)


def analyzer_not_applicable(source: VariantSource, spec: ViewSpec) -> str | None:
    """Why a required analyzer cannot run on this variant (its own declared rule), or None."""
    from miscope_core.analysis.registry import ANALYZERS, load_builtin_analyzers
    from miscope_core.families import ModelConfig

    load_builtin_analyzers()
    try:
        config = ModelConfig(**source.model)
    except TypeError:  # a record without a model section: only the artifacts can tell
        return None
    for name in spec.requires:
        analyzer = ANALYZERS.get(name)
        reason = analyzer and analyzer.not_applicable_reason(
            source.context_keys, config, source.family_name
        )
        if reason:
            return f"analyzer '{name}' {reason}"
    return None


def available_views(source: VariantSource) -> list[ViewAvailability]:
    """Every view with its availability for this variant (available ones first)."""
    rows = [view_availability(source, spec) for spec in list_views()]
    return sorted(rows, key=lambda r: (not r.available, r.name))


def validate_params(
    spec: ViewSpec, params: Mapping[str, Any], model: Mapping[str, Any]
) -> dict[str, Any]:
    """Defaults plus `params`, type- and range-checked; errors say how to call it right."""
    unknown = sorted(set(params) - {p.name for p in spec.params})
    if unknown:
        valid = [p.name for p in spec.params] or "none"
        raise TypeError(
            f"View '{spec.name}' has no parameter(s) {unknown}; its parameters: {valid}"
        )
    resolved = spec.defaults()
    for name, value in params.items():
        resolved[name] = check_param(spec, spec.param(name), value, model)
    return resolved


def check_param(spec: ViewSpec, param: ViewParam, value: Any, model: Mapping[str, Any]) -> Any:
    """One parameter value, coerced and checked against its rule (None means 'automatic'
    where the default is None)."""
    if value is None and param.default is None:
        return None
    if param.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if param.type is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    ok_type = isinstance(value, param.type) and not (
        param.type is not bool and isinstance(value, bool)
    )
    bounds = None if param.choices else param.valid_range(model)
    ok = ok_type and (not param.choices or value in param.choices)
    if ok and bounds is not None:
        low, high = bounds
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        example = param.choices[0] if param.choices else param.default
        raise ValueError(
            f"View '{spec.name}' needs {param.name} ({param.rule(model)}), got "
            f"{value!r}; try variant.view('{spec.name}', "
            f"{param.name}={example!r})"
        )
    return value


def resolve_epoch(source: VariantSource, spec: ViewSpec, epoch: int | None) -> tuple[int, str]:
    """(epoch to draw or to put the cursor on, the 'when' phrase for the title)."""
    epochs = source.epochs_of(spec.epoch_source if spec.kind == PER_EPOCH else None)
    if not epochs:
        epochs = [int(source.metrics()["epoch"][-1])] if source.has_metrics() else [0]
    chosen = epochs[-1] if epoch is None else nearest(epochs, int(epoch))
    note = "" if epoch is None or chosen == int(epoch) else f" (nearest checkpoint to {epoch})"
    if spec.kind == PER_EPOCH:
        return chosen, f"epoch {chosen}{note}"
    if not spec.uses_epoch:
        return chosen, f"over checkpoints {epochs[0]}–{epochs[-1]}"
    return chosen, f"cursor at epoch {chosen}{note}"


def render_for_source(
    source: VariantSource, view: str | ViewSpec, epoch: int | None = None, **params: Any
):
    """Draw a view of an opened variant; raises when it is unknown, unavailable or misused."""
    from miscope_core.views.style import finish_figure

    spec = view if isinstance(view, ViewSpec) else get_view(view)
    figure, data, chosen, when = draw_unfinished(source, spec, epoch, **params)
    if spec.kind == ACROSS_EPOCHS:  # every across-epoch view shows the training regimes
        add_regime_bands(figure, source_regime_segments(source))
    return finish_figure(figure, spec, data, when, source.variant_id, epoch=chosen)


def draw_unfinished(source: VariantSource, spec: ViewSpec, epoch: int | None = None, **params):
    """(renderer's figure before title/template styling, loaded data, epoch, 'when' phrase).

    Readers of a figure's series (ensembles over many variants) stop here: the styling pass
    costs more than loading and drawing (about 0.5 s per figure on a busy CPU).
    """
    status = view_availability(source, spec)
    if not status.available:
        raise ViewNotAvailableError(
            f"View '{spec.name}' is not available for '{source.variant_id}': {status.reason}"
        )
    resolved = validate_params(spec, params, source.model)
    chosen, when = resolve_epoch(source, spec, epoch)
    data = spec.loader(source, chosen, **resolved)
    return spec.renderer(data), data, chosen, when


def render_view(
    workspace: Workspace | str | Path | None,
    variant_id: str,
    view_name: str,
    epoch: int | None = None,
    **params: Any,
):
    """The Plotly figure of `view_name` for a variant at `epoch` (None: last checkpoint).

    Loaded files are cached per variant until its record, metrics or manifest change."""
    source = open_source(workspace, variant_id)
    return render_for_source(source, view_name, epoch, **params)


def view_epochs(source: VariantSource, view: str | ViewSpec) -> list[int]:
    """The epochs a view can be drawn at (per-epoch) or its cursor can visit."""
    spec = view if isinstance(view, ViewSpec) else get_view(view)
    return source.epochs_of(spec.epoch_source if spec.kind == PER_EPOCH else None)
