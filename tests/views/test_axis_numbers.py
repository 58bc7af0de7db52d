"""Axis number formats: powers of ten on log axes, plain numbers on linear ones."""

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.style import format_axis_numbers


def test_log_axes_get_powers_and_linear_axes_plain_numbers():
    figure = make_subplots(rows=1, cols=2)
    figure.add_trace(go.Scatter(x=[0, 14000], y=[1e-7, 10]), row=1, col=1)
    figure.add_trace(go.Scatter(x=[0, 14000], y=[0, 1]), row=1, col=2)
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_xaxes(exponentformat="SI", row=1, col=2)  # an explicit choice is kept
    format_axis_numbers(figure)
    layout = figure.layout
    assert layout.yaxis.exponentformat == "power"
    assert layout.xaxis.exponentformat == "none" and layout.yaxis2.exponentformat == "none"
    assert layout.xaxis2.exponentformat == "SI"


def test_log_axes_over_several_decades_label_each_decade_only():
    figure = make_subplots(rows=1, cols=2)
    figure.add_trace(go.Scatter(x=[0, 1], y=[2e-4, 30]), row=1, col=1)  # 5 decades
    figure.add_trace(go.Scatter(x=[0, 1], y=[2, 5.5]), row=1, col=2)  # under one decade
    figure.update_yaxes(type="log")
    format_axis_numbers(figure)
    assert figure.layout.yaxis.dtick == 1  # 10⁻⁴ 10⁻³ …, no "2 5" between them
    assert figure.layout.yaxis2.dtick is None  # a short span keeps 2, 3, 5 labels


def test_categorical_colours_give_each_frequency_one_solid_colour():
    from miscope_core.views.style import categorical_heatmap_colors

    colors = categorical_heatmap_colors([[1, 3], [3, 5]])
    assert (colors["zmin"], colors["zmax"]) == (0.5, 5.5)
    assert colors["colorbar"]["tickvals"] == [1, 3, 5]
    scale = colors["colorscale"]
    bands = zip(scale[::2], scale[1::2], strict=True)
    assert len(scale) == 2 * 5 and all(a[1] == b[1] for a, b in bands)  # solid bands
    again = categorical_heatmap_colors([[3, 4]])["colorscale"]
    assert again[0][1] == scale[4][1]  # k=3 has the same colour in every figure


def test_ring_labels_leave_out_labels_that_would_overlap():
    import numpy as np

    from miscope_core.views.library.algorithm import ring_labels

    xy = np.array([[0.5, 0.5], [0.505, 0.5], [-0.5, -0.5]])
    text, positions = ring_labels(xy, bound=1.0)
    assert text == ["0", "", "2"]
    assert positions[0] == "top right" and positions[2] == "bottom left"
