"""Figures for the dashboard through the view catalog: one panel = base figure + epoch frames.

A panel's *frames* let the browser scrub without a server round trip: for every checkpoint
epoch, a short list of `[path, value]` assignments (trace data for per-epoch views, the cursor
for across-epochs views) that a clientside callback applies as a `dash_clientside.Patch`.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any

import numpy as np

from miscope_core.workspace import Workspace
from services.view_urls import PanelRequest, format_views_param, parse_views_param

__all__ = [
    "PanelRequest",
    "build_panel",
    "export_panel",
    "figure_at",
    "format_views_param",
    "loss_figure",
    "parse_views_param",
    "render_error",
    "render_panel_figure",
    "resolve_panel",
    "variant_token",
    "view_catalog",
]

CURSOR = "epoch_cursor"
PANEL_HEIGHT = 430
LAYOUT_OWNED_BY_PAGE = (
    "title",
    "template",
    "width",
    "height",
    "margin",
    "meta",
    "legend",
    "autosize",
)
CACHE_SIZE = 48


class SingleFlightCache:
    """A small LRU of built values where concurrent callers of one key wait for one build.

    Per process and keyed by what the value depends on (workspace, variant, view, parameters
    and the variant's file stamps), so it never serves a stale panel and never builds one
    twice: eight clients opening the same page cost one build, not eight.
    """

    def __init__(self, size: int):
        self.size = size
        self._done: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[Hashable, Future] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value for `key`, built by the first caller; others wait for that build."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            pending = self._building.get(key)
            if pending is None:
                pending = self._building[key] = Future()
                owner = True
            else:
                owner = False
        if not owner:
            return pending.result()
        try:
            value = build()
        except BaseException as exc:
            with self._lock:
                del self._building[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._done[key] = value
            while len(self._done) > self.size:
                self._done.popitem(last=False)
            del self._building[key]
        pending.set_result(value)
        return value

    def clear(self) -> None:
        """Forget every built value (builds in flight still finish for their callers)."""
        with self._lock:
            self._done.clear()


PANELS = SingleFlightCache(CACHE_SIZE)


def _source(workspace: Workspace, variant_id: str):
    """The variant's shared read handle (reused while its files are unchanged)."""
    from miscope_core.variants import check_variant_id
    from miscope_core.views.source import open_source

    return open_source(workspace, check_variant_id(variant_id))


def view_catalog(workspace: Workspace, variant_id: str) -> list[dict[str, Any]]:
    """Every view with kind, description, parameters and availability for this variant
    (computed once per variant state; treat it as read-only)."""
    key = ("catalog", str(workspace.root), variant_id, variant_token(workspace, variant_id))
    return PANELS.get(key, lambda: _view_catalog(workspace, variant_id))


def _view_catalog(workspace: Workspace, variant_id: str) -> list[dict[str, Any]]:
    from miscope_core.views import available_views, get_view

    source = _source(workspace, variant_id)
    rows = []
    for status in available_views(source):
        spec = get_view(status.name)
        rows.append(
            {
                "name": spec.name,
                "title": spec.title,
                "kind": spec.kind,
                "description": spec.description,
                "available": status.available,
                "applicable": status.applicable,
                "reason": status.reason,
                "params": [describe_param(p, source.model) for p in spec.params],
            }
        )
    return rows


def describe_param(param: Any, model: dict[str, Any]) -> dict[str, Any]:
    """A view parameter as plain data for a generated control."""
    bounds = param.valid_range(model)
    return {
        "name": param.name,
        "type": param.type.__name__,
        "default": param.default,
        "description": param.description,
        "choices": list(param.choices),
        "min": bounds[0] if bounds else None,
        "max": bounds[1] if bounds else None,
        "rule": param.rule(model),
    }


def resolve_panel(workspace: Workspace, variant_id: str, panel: PanelRequest) -> PanelRequest:
    """Validate a panel's view name and parameters (KeyError / ValueError / TypeError)."""
    from miscope_core.views import get_view, validate_params

    source = _source(workspace, variant_id)
    spec = get_view(panel.view)
    return PanelRequest(spec.name, validate_params(spec, panel.params, source.model))


def variant_token(workspace: Workspace, variant_id: str) -> str:
    """Changes whenever checkpoints, metrics or artifacts of the variant change (a string:
    nanosecond stamps do not survive a trip through JavaScript numbers)."""
    paths = workspace.locate(variant_id)
    stamps = []
    for path in (paths.checkpoints, paths.metrics, paths.artifacts / "manifest.json"):
        try:
            stamps.append(str(path.stat().st_mtime_ns))
        except OSError:
            stamps.append("0")
    return "-".join(stamps)


def build_panel(workspace: Workspace, variant_id: str, panel: PanelRequest) -> dict[str, Any]:
    """{'figure', 'frames', 'frames_json', 'kind', 'view', 'title', 'params', 'epoch', 'token'}
    of one panel: built once per variant state and shared by every caller (read-only)."""
    token = variant_token(workspace, variant_id)
    key = (
        str(workspace.root),
        variant_id,
        panel.view,
        json.dumps(panel.params, sort_keys=True),
        token,
    )
    return PANELS.get(key, lambda: {**_build_panel(workspace, variant_id, panel), "token": token})


def figure_at(panel: dict[str, Any], epoch: int | None) -> dict[str, Any]:
    """The panel's figure at `epoch` (nearest checkpoint; None: the last) by its own frame, so
    it also carries the frames' fixed axis ranges; `layout.meta.epoch` says what it shows.
    The shared build is left untouched (only the containers a frame assigns into are copied)."""
    frames = panel["frames"]
    epochs = frames["epochs"]
    if not epochs:
        return panel["figure"]
    wanted = epochs[-1] if epoch is None else epoch
    index = min(range(len(epochs)), key=lambda i: (abs(epochs[i] - wanted), i))
    frame = frames["index"][index]
    figure = panel["figure"]
    meta = {**(figure["layout"].get("meta") or {}), "epoch": frames["frame_epochs"][frame]}
    figure = {**figure, "layout": {**figure["layout"], "meta": meta}}
    for path, value in frames["patches"][frame]:
        figure = _assign(figure, list(path), value)
    return figure


def _assign(container: Any, path: list, value: Any) -> Any:
    """A copy of `container` with `value` at `path`, sharing every untouched branch."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copied = copy.copy(container)
    copied[head] = _assign(container[head], rest, value)
    return copied


def render_panel_figure(
    workspace: Workspace, variant_id: str, panel: PanelRequest, epoch: int | None = None
) -> dict[str, Any]:
    """One figure of a panel at `epoch`, drawn on its own (the reference the frames must
    reproduce; the page itself uses `figure_at` on the shared build)."""
    from miscope_core.views import render_for_source

    source = _source(workspace, variant_id)
    figure = _figure_json(render_for_source(source, panel.view, epoch, **panel.params))
    _fit_to_panel(figure)
    return figure


def _build_panel(workspace: Workspace, variant_id: str, panel: PanelRequest) -> dict[str, Any]:
    from miscope_core.views import PER_EPOCH, get_view, render_for_source, validate_params

    source = _source(workspace, variant_id)
    spec = get_view(panel.view)
    params = validate_params(spec, panel.params, source.model)
    epochs = source.checkpoint_epochs
    base_figure = render_for_source(source, spec, epochs[-1] if epochs else None, **params)
    base = _figure_json(base_figure)
    if spec.kind == PER_EPOCH:
        frames = _per_epoch_frames(source, spec, params, base, epochs)
    else:
        frames = _cursor_frames(base_figure, base, epochs)
    _fit_to_panel(base)
    return {
        "figure": base,
        "frames": frames,
        "kind": spec.kind,
        "view": spec.name,
        "title": spec.title,
        "params": params,
        "epoch": base["layout"]["meta"]["epoch"],
        "description": spec.description,
        "frames_json": _compact_json(frames),
    }


def _compact_json(value: Any) -> str:
    """JSON text, encoded once per build: a page load then sends the (megabyte-sized) frames
    as one string instead of re-encoding every number in them per request."""
    try:
        return json.dumps(
            value,
            separators=(",", ":"),
            allow_nan=False,
            default=lambda o: o.item() if isinstance(o, np.generic) else o.tolist(),
        )
    except ValueError:  # NaN or infinity: Plotly's encoder writes them as null
        import plotly.io.json as plotly_json

        return plotly_json.to_json_plotly(value)


def _figure_json(figure: Any) -> dict[str, Any]:
    for trace in figure.data:
        for name in ("x", "y", "z"):
            value = getattr(trace, name, None)
            if isinstance(value, np.ndarray) and value.dtype == np.float64:
                trace[name] = value.astype(np.float32)
    return json.loads(figure.to_json())


def _fit_to_panel(figure: dict[str, Any]) -> None:
    """Panel size, and one title per panel: the card header names the view and the page names
    the variant and the epoch, so the figure keeps only what the view measured (the title's
    detail, e.g. "(layer 0)"), in small type. A title that changed every step would redraw the
    whole panel while scrubbing (exports keep the full title). The parts come from
    `layout.meta`, set by the catalog."""
    layout = figure.setdefault("layout", {})
    layout.pop("width", None)
    meta = layout.get("meta") or {}
    detail = _title_detail(meta) if isinstance(meta, dict) else ""
    if isinstance(meta, dict) and "what" in meta:
        layout["title"] = (
            {"text": detail, "font": {"size": 12, "color": "#6c757d"}, "x": 0.01, "xanchor": "left"}
            if detail
            else None
        )
    layout.update(
        height=PANEL_HEIGHT,
        autosize=True,
        margin={"t": 76 if detail else 56, "l": 60, "r": 20, "b": 50},
    )


def _title_detail(meta: dict[str, Any]) -> str:
    """What a figure's title adds to its view's title: 'Title (layer 0)' -> '(layer 0)'."""
    from miscope_core.views import get_view

    what = str(meta.get("what", ""))
    try:
        view_title = get_view(str(meta.get("view", ""))).title
    except KeyError:
        return what
    return what[len(view_title) :].strip() if what.startswith(view_title) else what


def _per_epoch_frames(source, spec, params, base, epochs) -> dict[str, Any]:
    """Per checkpoint, the trace data (and the axis/colour ranges, fixed over all frames)."""
    from miscope_core.views import view_epochs
    from miscope_core.views.frames import fix_axis_ranges
    from miscope_core.views.source import nearest

    own = view_epochs(source, spec) or epochs
    figures = [spec.renderer(spec.loader(source, epoch, **params)) for epoch in own]
    raws = [_figure_json(f) for f in fix_axis_ranges(figures)]  # steady axes while scrubbing
    varying = _varying_paths(base, raws)
    constant = [
        path
        for path in varying
        if path != ("data",) and all(_lookup(raw, path) == _lookup(raws[0], path) for raw in raws)
    ]
    for path in constant:  # e.g. the fixed axis ranges: set once, never re-laid out per step
        _set(base, path, _lookup(raws[0], path))
    varying = [path for path in varying if path not in constant]
    patches = [[[path, _lookup(raw, path)] for path in varying] for raw in raws]
    index_of = {epoch: i for i, epoch in enumerate(own)}
    return {
        "epochs": epochs,
        "index": [index_of[nearest(own, e)] for e in epochs],
        "frame_epochs": list(own),
        "patches": patches,
    }


def _varying_paths(base: dict[str, Any], raws: list[dict[str, Any]]) -> list[tuple]:
    """Every trace property or layout key that differs from `base` in some frame (so that each
    frame assigns all of them and frames can be applied in any order)."""
    if any(len(raw["data"]) != len(base["data"]) for raw in raws):
        return [("data",)]
    paths: set[tuple] = set()
    for raw in raws:
        for i, (old, trace) in enumerate(zip(base["data"], raw["data"], strict=True)):
            paths |= {("data", i, k) for k in set(old) | set(trace) if old.get(k) != trace.get(k)}
        keys = (set(base["layout"]) | set(raw["layout"])) - set(LAYOUT_OWNED_BY_PAGE)
        paths |= {("layout", k) for k in keys if base["layout"].get(k) != raw["layout"].get(k)}
    return sorted(paths, key=str)


def _lookup(figure: dict[str, Any], path: tuple) -> Any:
    value = figure
    for key in path:
        value = value[key] if isinstance(value, list) else value.get(key)
        if value is None:
            return None
    return value


def _set(figure: dict[str, Any], path: tuple, value: Any) -> None:
    target = figure
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _cursor_frames(figure: Any, base: dict[str, Any], epochs: list[int]) -> dict[str, Any]:
    shapes = [i for i, s in enumerate(base["layout"].get("shapes", [])) if s.get("name") == CURSOR]
    for i in shapes:
        _freeze_x_range(figure, base, base["layout"]["shapes"][i].get("xref", "x"), epochs)
    cursor = [i for i, t in enumerate(figure.data) if getattr(t, "meta", None) == CURSOR]
    carrier = _cursor_carrier(figure)
    patches = []
    for epoch in epochs:
        ops = []
        for i in shapes:
            ops += [[["layout", "shapes", i, "x0"], epoch], [["layout", "shapes", i, "x1"], epoch]]
        if cursor and carrier is not None:
            ops += _cursor_point_ops(figure, cursor[0], carrier, epoch)
        patches.append(ops)
    for i in shapes:  # drawn by the page as an overlay that moves without a Plotly redraw
        base["layout"]["shapes"][i]["visible"] = False
    overlay_point = (
        bool(cursor) and carrier is not None and getattr(figure.data[cursor[0]], "z", None) is None
    )
    if overlay_point:
        base["data"][cursor[0]]["visible"] = False
    return {
        "epochs": epochs,
        "index": list(range(len(epochs))),
        "frame_epochs": list(epochs),
        "patches": patches,
        "overlay": {"shapes": shapes, "point": cursor[0] if overlay_point else None},
    }


def _freeze_x_range(figure: Any, base: dict[str, Any], xref: str, epochs: list[int]) -> None:
    """Fix the cursor's x axis to the data extent: moving the cursor then only redraws the
    line (with autorange, Plotly recomputes every trace, because shapes widen the range)."""
    key = f"xaxis{xref[1:]}"
    axis = base["layout"].setdefault(key, {})
    if axis.get("range") is not None or axis.get("type") in ("log", "category", "date"):
        return
    values = [float(e) for e in epochs]
    for trace in figure.data:
        x = getattr(trace, "x", None)
        if x is not None and (getattr(trace, "xaxis", None) or "x") == xref:
            try:
                values.extend(np.asarray(x, dtype=float).ravel().tolist())
            except (TypeError, ValueError):
                return  # categorical x: leave autorange alone
    low, high = min(values), max(values)
    pad = 0.02 * ((high - low) or 1.0)
    axis.update(range=[low - pad, high + pad], autorange=False)


def _cursor_carrier(figure: Any) -> int | None:
    """The trace whose customdata holds the epoch of every point (trajectory plots)."""
    for i, trace in enumerate(figure.data):
        custom = getattr(trace, "customdata", None)
        if (
            getattr(trace, "meta", None) != CURSOR
            and custom is not None
            and getattr(trace, "x", None) is not None
            and len(custom) == len(trace.x)
        ):
            return i
    return None


def _cursor_point_ops(figure: Any, cursor: int, carrier: int, epoch: int) -> list[list]:
    trace = figure.data[carrier]
    custom = np.asarray(trace.customdata, dtype=float).ravel()
    i = int(np.argmin(np.abs(custom - epoch)))
    ops = [[["data", cursor, "name"], f"epoch {int(custom[i])}"]]
    for axis in ("x", "y", "z"):
        values = getattr(trace, axis, None)
        if values is not None and getattr(figure.data[cursor], axis, None) is not None:
            ops.append([["data", cursor, axis], [float(np.asarray(values)[i])]])
    return ops


def render_error(message: str) -> dict[str, Any]:
    """An empty figure carrying an error message (the panel stays alive)."""
    return {
        "data": [],
        "layout": {
            "height": 200,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": "This view could not be drawn; see the message above.",
                    "showarrow": False,
                    "x": 0.5,
                    "y": 0.5,
                    "xref": "paper",
                    "yref": "paper",
                    "font": {"color": "#b02a37"},
                }
            ],
        },
    }


def export_panel(
    workspace: Workspace,
    variant_id: str,
    view: str,
    fmt: str,
    epoch: int | None,
    params: dict[str, Any],
) -> tuple[bytes, str, str]:
    """(bytes, MIME type, file name) of a panel download: png, svg, pdf, html, gif or csv."""
    from miscope_core.views import render_for_source
    from miscope_core.views.export import MIME_TYPES, canonical_export_name, export_source_bytes
    from miscope_core.views.table import figure_to_csv

    source = _source(workspace, variant_id)
    if fmt == "csv":
        figure = render_for_source(source, view, epoch, **params)
        name = canonical_export_name(variant_id, view, "csv", epoch, params)
        return figure_to_csv(figure).encode(), MIME_TYPES["csv"], name
    return export_source_bytes(source, view, fmt, epoch, **params)


def loss_figure(workspace: Workspace, variant_id: str) -> dict[str, Any] | None:
    """The catalog's loss curves of a variant being trained, or None before its first save."""
    from miscope_core.views import render_view

    try:
        figure = json.loads(render_view(workspace, variant_id, "training.loss_curves").to_json())
    except (KeyError, LookupError, FileNotFoundError, ValueError):
        return None
    _fit_to_panel(figure)  # while training, the cursor has nothing to point at
    layout = figure["layout"]
    layout["shapes"] = [s for s in layout.get("shapes", []) if s.get("name") != CURSOR]
    meta = layout.get("meta") or {}
    layout["title"] = {
        "text": f"{meta.get('what', '')}<br><sup>{variant_id}</sup>",
        "x": 0.02,
        "xanchor": "left",
    }  # the Progress card has no view title
    layout.update(height=320, margin={"t": 70, "l": 60, "r": 20, "b": 45})
    return figure
