"""Build and load TransformerLens 4 `TransformerBridge` models (heavy imports live here)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from miscope_core.families import ModelConfig


def resolve_device(device: str | None) -> str:
    """'cuda' when available, else 'cpu', unless a device is named."""
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"Device '{device}' requested but CUDA is not available; use 'cpu'")
    return device


def bridge_config(cfg: ModelConfig, seed: int):
    """The TransformerBridgeConfig for a ModelConfig."""
    from transformer_lens.config import TransformerBridgeConfig

    return TransformerBridgeConfig(
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        d_mlp=cfg.d_mlp,
        attn_only=cfg.attn_only,
        act_fn=cfg.act_fn,
        normalization_type=None,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_vocab_out,
        n_ctx=cfg.n_ctx,
        seed=seed,
    )


def build_bridge(cfg: ModelConfig, seed: int, device: str = "cpu"):
    """A freshly initialised bridge; the same seed gives the same weights."""
    from transformer_lens.model_bridge import TransformerBridge

    return TransformerBridge.boot_native(bridge_config(cfg, seed), device=device)


def load_bridge(cfg: ModelConfig, state: Mapping[str, torch.Tensor], device: str = "cpu"):
    """A bridge holding the given state dict, in eval mode."""
    bridge = build_bridge(cfg, seed=0, device=device)
    bridge.load_state_dict({k: v.to(device) for k, v in state.items()}, strict=True)
    return bridge.eval()
