"""Test-only families: modular addition with 2 layers, with and without MLPs (small widths)."""

from __future__ import annotations

from dataclasses import replace

from miscope_core.families import register_family
from miscope_core.families.modulo_addition import ModuloAddition


@register_family
class TwoLayerModuloAddition(ModuloAddition):
    """Two layers, narrow: exercises every per-layer loop."""

    name = "testing_two_layer_addition"
    title = "Modular addition, 2 layers (test only)"

    def model_config(self, params):
        """2 layers, d_model 32, 2 heads of 16, d_mlp 64."""
        return replace(
            super().model_config(params), n_layers=2, n_heads=2, d_model=32, d_head=16, d_mlp=64
        )


@register_family
class TwoLayerAttentionOnlyAddition(ModuloAddition):
    """Two attention-only layers: MLP analyzers must be skipped, MLP keys absent."""

    name = "testing_two_layer_attn_only_addition"
    title = "Modular addition, 2 attention-only layers (test only)"

    def model_config(self, params):
        """2 layers, no MLP."""
        return replace(
            super().model_config(params), n_layers=2, n_heads=2, d_model=32, d_head=16, d_mlp=None
        )
