"""MIScope core: families, training, analysis and the view catalog (no Dash, no Flask)."""

__version__ = "0.1.0"
