"""The TransformerLens grokking demo's initialization, drawn the way the demo drew it.

TransformerLens 4's native bridge scales the residual-writing projections (W_O, W_out) by
1/sqrt(2 n_layers), GPT-2 style (std 0.050 instead of 0.0707 for d_model 128). The demo's
`HookedTransformer` drew every `W_*` from N(0, (0.8/sqrt(d_model))^2) after
`torch.manual_seed(seed)`, in the order W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U
(CALIBRATION §1.1, §7.1), with every bias zero. Drawing the same tensors in the same shapes
and order reproduces the demo's initial losses (train 4.734958, test 4.733274 at p=113).
"""

from __future__ import annotations

import math

import torch

from miscope_core.families import ModelConfig


def tl_demo_initial_state(cfg: ModelConfig, seed: int) -> dict[str, torch.Tensor]:
    """Bridge state-dict weights (biases excluded) drawn as the TL grokking demo drew them."""
    std = 0.8 / math.sqrt(cfg.d_model)
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * std

    nh, dm, dh = cfg.n_heads, cfg.d_model, cfg.d_head
    state = {"embed.weight": draw(cfg.d_vocab, dm), "pos_embed.weight": draw(cfg.n_ctx, dm)}
    for layer in range(cfg.n_layers):
        prefix = f"blocks.{layer}"
        for name in ("q", "k", "v"):
            # TL W_Q[h, d_model, d_head] -> nn.Linear weight [h * d_head + j, d_model]
            w = draw(nh, dm, dh)
            state[f"{prefix}.attn.{name}.weight"] = w.permute(0, 2, 1).reshape(nh * dh, dm)
        # TL W_O[h, d_head, d_model] -> nn.Linear weight [d_model, h * d_head + j]
        state[f"{prefix}.attn.o.weight"] = draw(nh, dh, dm).reshape(nh * dh, dm).T.contiguous()
        if not cfg.attn_only:
            state[f"{prefix}.mlp.in.weight"] = draw(dm, cfg.d_mlp).T.contiguous()
            state[f"{prefix}.mlp.out.weight"] = draw(cfg.d_mlp, dm).T.contiguous()
    state["unembed.weight"] = draw(dm, cfg.d_vocab_out).T.contiguous()
    return state
