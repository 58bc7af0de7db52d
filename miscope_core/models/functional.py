"""A plain-tensor forward pass over a bridge's state dict, used by the trainer.

TransformerLens hooks cost little when unused, but the loss of a last-position task needs the
attention query, the MLP and the unembedding only at the final position. Computing just that
roughly halves the cost of a training step. Analysis always uses the TransformerBridge itself;
`tests/models/test_functional.py` checks the two agree.

The first layer's input at a position is W_E[token] + W_pos[position], so its query, key and
value projections take only n_ctx × d_vocab distinct values. When the batch holds more rows
than the vocabulary (modular arithmetic: thousands of examples over p + 1 tokens), projecting
that table once and gathering from it replaces three batch-sized matrix products with
vocabulary-sized ones: the same function, about 1.7× less work per training step.
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
    embed = weights["embed.weight"]
    table_tokens = tokens if tokens.shape[0] > embed.shape[0] else None
    return _forward(weights, cfg, embed[tokens], last_only, table_tokens)


def forward_from_embeddings(
    weights: Mapping[str, torch.Tensor], cfg: ModelConfig, embedded: torch.Tensor, last_only: bool
) -> torch.Tensor:
    """Logits from token embeddings [batch, pos, d_model] given directly (e.g. as a leaf tensor
    to take gradients with respect to)."""
    return _forward(weights, cfg, embedded, last_only, None)


def _forward(
    weights,
    cfg: ModelConfig,
    embedded: torch.Tensor,
    last_only: bool,
    table_tokens: torch.Tensor | None,
) -> torch.Tensor:
    n_pos = embedded.shape[1]
    pos_embed = weights["pos_embed.weight"][:n_pos]
    resid = embedded + pos_embed
    for layer in range(cfg.n_layers):
        final_only = last_only and layer == cfg.n_layers - 1
        project = (
            _TableProjection(weights["embed.weight"], pos_embed, table_tokens)
            if layer == 0 and table_tokens is not None
            else _ResidualProjection(resid)
        )
        resid = _block(weights, cfg, layer, resid, project, final_only)
    return resid @ weights["unembed.weight"].T + weights["unembed.bias"]


def _linear(weights: Mapping[str, torch.Tensor], prefix: str, x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.linear(x, weights[f"{prefix}.weight"], weights[f"{prefix}.bias"])


class _ResidualProjection:
    """Projects the residual stream itself (any layer)."""

    def __init__(self, resid: torch.Tensor):
        self.resid = resid

    def __call__(self, weights, prefix: str, last: bool) -> torch.Tensor:
        return _linear(weights, prefix, self.resid[:, -1] if last else self.resid)


class _TableProjection:
    """Projects every (position, token) embedding once and gathers rows by token (layer 0)."""

    def __init__(self, embed: torch.Tensor, pos_embed: torch.Tensor, tokens: torch.Tensor):
        self.inputs = embed.unsqueeze(0) + pos_embed.unsqueeze(1)  # [pos, vocab, d_model]
        self.tokens = tokens
        # row of (position, token) in the flattened table
        self.rows = tokens + embed.shape[0] * torch.arange(tokens.shape[1], device=tokens.device)

    def __call__(self, weights, prefix: str, last: bool) -> torch.Tensor:
        inputs, rows = (self.inputs[-1:], self.tokens[:, -1]) if last else (self.inputs, self.rows)
        table = _linear(weights, prefix, inputs).flatten(0, 1)
        return torch.nn.functional.embedding(rows, table)


def _block(weights, cfg: ModelConfig, layer: int, resid: torch.Tensor, project, final_only: bool):
    prefix = f"blocks.{layer}"
    batch, n_pos, _ = resid.shape
    heads = (cfg.n_heads, cfg.d_head)
    k = project(weights, f"{prefix}.attn.k", False).view(batch, n_pos, *heads)
    v = project(weights, f"{prefix}.attn.v", False).view(batch, n_pos, *heads)
    if final_only:
        # One query per sequence: broadcast products beat thousands of 1×d @ d×n_pos matmuls.
        query_in = resid[:, -1]
        q = project(weights, f"{prefix}.attn.q", True).view(batch, 1, *heads)
        pattern = ((q * k).sum(-1) / math.sqrt(cfg.d_head)).softmax(dim=1)  # [batch, pos, head]
        z = (pattern.unsqueeze(-1) * v).sum(1).flatten(1)
    else:
        query_in = resid
        q = project(weights, f"{prefix}.attn.q", False).view(batch, n_pos, *heads)
        scores = q.transpose(1, 2) @ k.permute(0, 2, 3, 1) / math.sqrt(cfg.d_head)
        causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=resid.device).triu(1)
        pattern = scores.masked_fill(causal, float("-inf")).softmax(dim=-1)
        z = (pattern @ v.transpose(1, 2)).transpose(1, 2).flatten(2)
    resid = query_in + _linear(weights, f"{prefix}.attn.o", z)
    if not cfg.attn_only:
        hidden = ACTIVATIONS[cfg.act_fn](_linear(weights, f"{prefix}.mlp.in", resid))
        resid = resid + _linear(weights, f"{prefix}.mlp.out", hidden)
    return resid
