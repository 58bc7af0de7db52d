"""A plain-tensor forward pass over a bridge's state dict, used by the trainer.

TransformerLens hooks cost little when unused, but the loss of a last-position task needs the
attention query, the MLP and the unembedding only at the final position. Computing just that
roughly halves the cost of a training step. Analysis always uses the TransformerBridge itself;
`tests/models/test_functional.py` checks the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from miscope_core.families import ModelConfig

ACTIVATIONS = {"relu": torch.relu, "gelu": torch.nn.functional.gelu}


def forward_logits(
    weights: Mapping[str, torch.Tensor], cfg: ModelConfig, tokens: torch.Tensor, last_only: bool
) -> torch.Tensor:
    """Logits [batch, pos, d_vocab_out], or [batch, d_vocab_out] at the last position."""
    n_pos = tokens.shape[1]
    resid = weights["embed.weight"][tokens] + weights["pos_embed.weight"][:n_pos]
    for layer in range(cfg.n_layers):
        final_only = last_only and layer == cfg.n_layers - 1
        resid = _block(weights, cfg, layer, resid, final_only)
    return resid @ weights["unembed.weight"].T + weights["unembed.bias"]


def _linear(weights: Mapping[str, torch.Tensor], prefix: str, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.linear(x, weights[f"{prefix}.weight"], weights[f"{prefix}.bias"])


def _block(weights, cfg: ModelConfig, layer: int, resid: torch.Tensor, final_only: bool):
    prefix = f"blocks.{layer}"
    batch, n_pos, _ = resid.shape
    query_in = resid[:, -1:] if final_only else resid
    heads = (cfg.n_heads, cfg.d_head)
    q = _linear(weights, f"{prefix}.attn.q", query_in).view(batch, -1, *heads).transpose(1, 2)
    k = _linear(weights, f"{prefix}.attn.k", resid).view(batch, n_pos, *heads).transpose(1, 2)
    v = _linear(weights, f"{prefix}.attn.v", resid).view(batch, n_pos, *heads).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(cfg.d_head)
    if not final_only:
        causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=resid.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
    z = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, -1, cfg.n_heads * cfg.d_head)
    resid = query_in + _linear(weights, f"{prefix}.attn.o", z)
    if not cfg.attn_only:
        hidden = ACTIVATIONS[cfg.act_fn](_linear(weights, f"{prefix}.mlp.in", resid))
        resid = resid + _linear(weights, f"{prefix}.mlp.out", hidden)
    return resid[:, -1] if final_only else resid
