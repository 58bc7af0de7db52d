"""Comparing variants: the same view side by side (epoch-locked) or overlaid, in notebooks.

    from miscope_core import compare, load_variant
    c = compare([load_variant("p59_seed999_dseed598_tf0.4"),
                 load_variant("p59_seed1_dseed1_tf0.4")])
    c.view("loss_curves").show()                       # overlay: one trace per variant
    c.view("parameters.pca.pc2_pc3", epoch=2000).figure()   # grid, one panel per variant
    c.view("fourier_norms", progress=0.5).export("png")     # aligned by fraction of the run
    compare(seeds).ensemble("loss_curves", align="grokking").show()  # median + IQR band

Panels come from the catalog (`BoundView.figure()`); this module only arranges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from miscope_core.views.registry import ACROSS_EPOCHS, CROSS_EPOCH, get_view
from miscope_core.views.source import nearest

MAX_VARIANTS = 6  # side by side or overlaid; an ensemble takes up to sweeps.MAX_VARIANTS
OVERLAYABLE = (ACROSS_EPOCHS, CROSS_EPOCH)
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def ema(values: Sequence[float], weight: float) -> np.ndarray:
    """Exponential moving average with smoothing weight in [0, 1) (0 = no smoothing)."""
    if not 0 <= weight < 1:
        raise ValueError(f"EMA weight must be in [0, 1), got {weight!r}")
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    running = values[0] if len(values) else 0.0
    for index, value in enumerate(values):
        running = weight * running + (1 - weight) * value
        out[index] = running
    return out


def aligned_epoch(variant, epoch: int | None, progress: float | None) -> int:
    """The checkpoint a panel shows: nearest to `epoch`, or to `progress` x the run's length."""
    if epoch is not None and progress is not None:
        raise ValueError("Give epoch= or progress=, not both")
    if progress is not None:
        if not 0 <= progress <= 1:
            raise ValueError(f"progress must be a fraction in [0, 1], got {progress!r}")
        return nearest(variant.epochs, round(progress * variant.epochs[-1]))
    return variant.epochs[-1] if epoch is None else nearest(variant.epochs, int(epoch))


def line_traces(figure) -> list:
    """The data lines of a catalog figure (no epoch cursor, no marker-only traces)."""
    return [
        t
        for t in figure.data
        if t.name != "epoch_cursor" and t.type == "scatter" and "lines" in (t.mode or "lines")
    ]


def variant_label(variant, others: Sequence) -> str:
    """A legend label from the parameters that differ between the compared variants."""
    differing = [k for k in variant.params if len({str(o.params.get(k)) for o in others}) > 1]
    if not differing:
        return variant.id
    return ", ".join(f"{k}={variant.params[k]}" for k in differing)


class Comparison:
    """Variants of one family, compared view by view (1-6) or as an ensemble (many)."""

    def __init__(self, variants: Sequence):
        from miscope_core.sweeps import MAX_VARIANTS as MAX_ENSEMBLE

        variants = list(variants)
        if not 1 <= len(variants) <= MAX_ENSEMBLE:
            raise ValueError(f"compare() takes 1 to {MAX_ENSEMBLE} variants, got {len(variants)}")
        families = {v.family for v in variants}
        if len(families) > 1:
            raise ValueError(f"compare() needs variants of one family, got {sorted(families)}")
        self.variants = variants

    def _side_by_side(self) -> None:
        if len(self.variants) > MAX_VARIANTS:
            raise ValueError(
                f"compare() draws 1 to {MAX_VARIANTS} variants side by side, got "
                f"{len(self.variants)}; for more use .ensemble(view, align=...)"
            )

    def ensemble(
        self, name: str, align: str = "epoch", by: Sequence[str] | None = None, **params: Any
    ) -> EnsembleView:
        """An across-epochs view of every variant as median + IQR band per group, aligned
        by an event ('epoch', 'grokking', ...; miscope_core.ensemble.ALIGNMENTS). Groups:
        the parameters in `by`, default those that differ apart from the seeds."""
        from miscope_core.ensemble import get_alignment
        from miscope_core.sweeps import seed_params

        get_view(name), get_alignment(align)  # unknown names fail here, listing close ones
        seeds = seed_params(self.variants[0].family)
        return EnsembleView(self, name, align, None if by is None else list(by), seeds, params)

    def view(
        self,
        name: str,
        epoch: int | None = None,
        progress: float | None = None,
        overlay: bool | None = None,
        smoothing: float = 0.0,
        **params: Any,
    ):
        """The view for every variant: overlaid (across-epochs default) or in a grid."""
        self._side_by_side()
        spec = get_view(name)
        overlay = spec.kind == ACROSS_EPOCHS if overlay is None else overlay
        if overlay and spec.kind not in OVERLAYABLE:
            raise ValueError(
                f"View '{spec.name}' is {spec.kind}; only {list(OVERLAYABLE)} "
                f"views can be overlaid (use overlay=False for a grid)"
            )
        return ComparisonView(self, spec.name, epoch, progress, overlay, smoothing, params)

    def shared_trajectory(self, pc_x: int = 2, pc_y: int = 3, group: str = "all"):
        """Every variant's parameter trajectory on ONE jointly fitted PCA basis (comparable)."""
        from miscope_core.analysis.cross_variant import fit_shared_basis

        self._side_by_side()
        first = self.variants[0]
        basis = fit_shared_basis(
            first.source.workspace, first.family, [v.id for v in self.variants], group=group
        )
        n_pcs = basis.explained_variance_ratio.size
        for pc in (pc_x, pc_y):
            if not 1 <= pc <= n_pcs:
                raise ValueError(f"PC index must be in 1..{n_pcs}, got {pc}")
        from miscope_core.views.display import offline_figure

        stem = "compare_" + "_".join(v.id for v in self.variants)
        html = first.source.workspace.exports / f"{stem}_shared_trajectory_pc{pc_x}_pc{pc_y}.html"
        return offline_figure(render_shared_trajectory(basis, self.variants, pc_x, pc_y), html)

    def summary_table(self, pc_x: int = 2, pc_y: int = 3) -> list[dict[str, Any]]:
        """One row per variant: parameters, final accuracy, transition epochs, key frequencies
        and trajectory shape on the shared basis's (pc_x, pc_y) plane."""
        from miscope_core.analysis.cross_variant import fit_shared_basis
        from miscope_core.analysis.trajectory_metrics import trajectory_shape, transition_epochs

        first = self.variants[0]
        basis = fit_shared_basis(
            first.source.workspace, first.family, [v.id for v in self.variants]
        )
        rows = []
        for variant in self.variants:
            metrics = variant.metrics
            plane = basis.projections[variant.id][:, [pc_x - 1, pc_y - 1]]
            rows.append(
                {
                    "variant": variant.id,
                    **variant.params,
                    "final_train_accuracy": float(metrics["train_accuracy"][-1]),
                    "final_test_accuracy": float(metrics["test_accuracy"][-1]),
                    **transition_epochs(metrics),
                    "key_frequencies": key_frequencies(variant),
                    **{f"shared_{k}": v for k, v in trajectory_shape(plane).items()},
                }
            )
        return rows

    def __repr__(self) -> str:
        return f"<Comparison of {[v.id for v in self.variants]}>"


class FigureDisplay:
    """show/export/notebook display for an object with figure() and export_stem()."""

    def figure(self):
        """The Plotly figure."""
        raise NotImplementedError

    def export_stem(self) -> tuple[Path, str]:
        """(exports folder, file stem) of the default export path."""
        raise NotImplementedError

    def show(self) -> Path | None:
        """Display inline in a notebook; elsewhere write offline HTML and say where."""
        from miscope_core.views.display import show_figure

        return show_figure(self, lambda: self.export("html"))

    def export(self, fmt: str = "png", path: str | Path | None = None) -> Path:
        """Write png/svg/pdf/html to `path` (default: the workspace's exports folder)."""
        from miscope_core.io import atomic_write_bytes
        from miscope_core.views.export import IMAGE_FORMATS, check_format, figure_bytes

        fmt = check_format(fmt)
        if fmt not in (*IMAGE_FORMATS, "html"):
            raise ValueError(f"A comparison exports as {[*IMAGE_FORMATS, 'html']}, not {fmt!r}")
        if path is None:
            folder, stem = self.export_stem()
            path = folder / f"{stem}.{fmt}"
        atomic_write_bytes(Path(path), figure_bytes(self.figure(), fmt))
        return Path(path)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from miscope_core.views.display import notebook_bundle

        return notebook_bundle(self.figure())

    def _repr_html_(self) -> str:
        from miscope_core.views.display import offline_html

        return offline_html(self.figure())


@dataclass
class EnsembleView(FigureDisplay):
    """An across-epochs view over many variants as median + IQR bands (see .ensemble)."""

    comparison: Comparison
    name: str
    align: str
    by: list[str] | None
    seed_names: list[str]
    params: dict[str, Any]

    def data(self):
        """The reduced series (miscope_core.ensemble.Ensemble)."""
        from miscope_core.ensemble import compute_ensemble

        return compute_ensemble(
            self.comparison.variants,
            self.name,
            self.align,
            self.by,
            self.seed_names,
            **self.params,
        )

    def figure(self):
        """Median lines with IQR bands, one color per group."""
        from miscope_core.ensemble import render_ensemble

        return render_ensemble(self.data())

    def export_stem(self) -> tuple[Path, str]:
        """Exports folder and a stem naming the view, alignment and variant count."""
        first = self.comparison.variants[0]
        stem = f"ensemble_{len(self.comparison.variants)}_{self.name}_by_{self.align}"
        return first.source.workspace.exports, stem


@dataclass
class ComparisonView(FigureDisplay):
    """One view across the compared variants; renders itself like a BoundView."""

    comparison: Comparison
    name: str
    epoch: int | None
    progress: float | None
    overlay: bool
    smoothing: float
    params: dict[str, Any]

    def panels(self) -> list[tuple[Any, int, Any]]:
        """(variant, checkpoint shown, figure) for each variant."""
        out = []
        for variant in self.comparison.variants:
            chosen = aligned_epoch(variant, self.epoch, self.progress)
            out.append(
                (variant, chosen, variant.at(chosen).view(self.name, **self.params).figure())
            )
        return out

    def figure(self):
        """A Plotly figure: one overlay plot, or a grid of panels titled with their checkpoint."""
        return self._overlay() if self.overlay else self._grid()

    def _grid(self):
        from plotly.subplots import make_subplots

        panels = self.panels()
        variants = [v for v, _, _ in panels]
        cols = min(3, len(panels))
        rows = -(-len(panels) // cols)
        scene = panels[0][2].data and panels[0][2].data[0].type in ("scatter3d", "surface")
        specs = [[{"type": "scene" if scene else "xy"}] * cols for _ in range(rows)]
        titles = [f"{variant_label(v, variants)} — epoch {e}" for v, e, _ in panels]
        grid = make_subplots(
            rows=rows,
            cols=cols,
            subplot_titles=titles,
            specs=specs,
            horizontal_spacing=0.08,
            vertical_spacing=0.12,
        )
        for index, (_, _, fig) in enumerate(panels):
            row, col = divmod(index, cols)
            for trace in fig.data:
                trace.showlegend = index == 0 and trace.showlegend is not False
                if hasattr(trace, "colorbar") and index > 0:
                    trace.showscale = False
                grid.add_trace(trace, row=row + 1, col=col + 1)
            if not scene:
                copy_regime_bands(fig, grid, row + 1, col + 1)
                grid.update_xaxes(
                    title_text=fig.layout.xaxis.title.text,
                    row=row + 1,
                    col=col + 1,
                    type=fig.layout.xaxis.type,
                )
                grid.update_yaxes(
                    title_text=fig.layout.yaxis.title.text,
                    row=row + 1,
                    col=col + 1,
                    type=fig.layout.yaxis.type,
                )
        title = get_view(self.name).title
        grid.update_layout(
            title=f"{title} — {len(panels)} variants",
            template="plotly_white",
            width=420 * cols + 80,
            height=380 * rows + 120,
        )
        from miscope_core.views.style import format_axis_numbers

        return format_axis_numbers(grid)

    def _overlay(self):
        import plotly.graph_objects as go

        panels = self.panels()
        variants = [v for v, _, _ in panels]
        figure = go.Figure()
        for index, (variant, _, fig) in enumerate(panels):
            label = variant_label(variant, variants)
            traces = line_traces(fig)
            for t_index, trace in enumerate(traces):
                y = ema(trace.y, self.smoothing) if self.smoothing else trace.y
                figure.add_trace(
                    go.Scatter(
                        x=trace.x,
                        y=y,
                        mode="lines",
                        name=f"{label}: {trace.name}",
                        legendgroup=label,
                        line={
                            "color": PALETTE[index % len(PALETTE)],
                            "dash": DASHES[t_index % len(DASHES)],
                        },
                    )
                )
        first = panels[0][2].layout
        smooth = f", EMA {self.smoothing:g}" if self.smoothing else ""
        figure.update_layout(
            title=f"{get_view(self.name).title} — {len(panels)} variants overlaid{smooth}",
            template="plotly_white",
            width=900,
            height=520,
            xaxis={"title": first.xaxis.title.text, "type": first.xaxis.type},
            yaxis={"title": first.yaxis.title.text, "type": first.yaxis.type},
        )
        from miscope_core.views.style import format_axis_numbers

        return format_axis_numbers(figure)

    def export_stem(self) -> tuple[Path, str]:
        """Exports folder and 'compare_<ids>_<view>'."""
        first = self.comparison.variants[0]
        stem = "compare_" + "_".join(v.id for v in self.comparison.variants)
        return first.source.workspace.exports, f"{stem}_{self.name}"


def copy_regime_bands(panel, grid, row: int, col: int) -> None:
    """Each variant's own training-regime bands (miscope_core.views.regimes) into its cell."""
    subplot = grid.get_subplot(row, col)
    xref = subplot.xaxis.plotly_name.replace("axis", "")
    yref = subplot.yaxis.plotly_name.replace("axis", "") + " domain"
    for shape in panel.layout.shapes:
        if (shape.name or "").startswith("regime_"):
            grid.add_shape({**shape.to_plotly_json(), "xref": xref, "yref": yref})


def key_frequencies(variant) -> list[int] | None:
    """The variant's key frequencies from progress.measures, or None before that analysis."""
    store = variant.source.store
    if not store.cross_epoch_path("progress.measures").exists():
        return None
    return [int(k) for k in store.load_cross_epoch("progress.measures")["key_frequencies"]]


def render_shared_trajectory(basis, variants: Sequence, pc_x: int, pc_y: int):
    """Draw each variant's projection on the shared PCs, start and end marked."""
    import plotly.graph_objects as go

    figure = go.Figure()
    ratio = basis.explained_variance_ratio
    for index, variant in enumerate(variants):
        points = basis.projections[variant.id]
        epochs = basis.epochs[variant.id]
        color = PALETTE[index % len(PALETTE)]
        figure.add_trace(
            go.Scatter(
                x=points[:, pc_x - 1],
                y=points[:, pc_y - 1],
                mode="lines+markers",
                name=variant_label(variant, variants),
                line={"color": color},
                marker={"size": 4},
                text=[f"epoch {e}" for e in epochs],
                hovertemplate="%{text}<extra></extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=points[[0, -1], pc_x - 1],
                y=points[[0, -1], pc_y - 1],
                mode="markers+text",
                marker={"color": color, "size": 10, "symbol": ["circle-open", "circle"]},
                text=["start", "end"],
                textposition="top center",
                showlegend=False,
            )
        )
    figure.update_layout(
        title=f"Parameter trajectories on a shared basis (PC{pc_x} vs PC{pc_y}, fitted jointly "
        f"on {len(variants)} variants, group '{basis.group}')",
        template="plotly_white",
        width=760,
        height=620,
        xaxis={"title": f"PC{pc_x} ({ratio[pc_x - 1]:.1%} of variance)"},
        yaxis={"title": f"PC{pc_y} ({ratio[pc_y - 1]:.1%} of variance)"},
    )
    from miscope_core.views.style import format_axis_numbers

    return format_axis_numbers(figure)


def compare(variants: Sequence) -> Comparison:
    """Compare variants (from `load_variant`) view by view."""
    return Comparison(variants)
