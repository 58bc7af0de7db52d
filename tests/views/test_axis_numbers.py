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
