"""The trainer's plain-tensor forward agrees with the TransformerBridge."""

import pytest
import torch

from miscope_core.families import ModelConfig
from miscope_core.models.bridge import build_bridge
from miscope_core.models.functional import forward_logits

CONFIGS = [
    ModelConfig(n_layers=1, n_heads=4, d_model=32, d_head=8, d_mlp=64, d_vocab=14,
                d_vocab_out=13, n_ctx=3),
    ModelConfig(n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=None, d_vocab=10,
                d_vocab_out=10, n_ctx=6),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["mlp-1layer", "attn-only-2layer"])
def test_forward_matches_bridge_with_nonzero_biases(cfg):
    bridge = build_bridge(cfg, seed=3)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, value in bridge.state_dict(keep_vars=True).items():
            if name.endswith(".bias"):
                value.copy_(torch.randn(value.shape, generator=generator) * 0.1)
    tokens = torch.randint(0, cfg.d_vocab_out, (7, cfg.n_ctx), generator=generator)
    weights = bridge.state_dict()
    with torch.no_grad():
        reference = bridge(tokens)
        torch.testing.assert_close(forward_logits(weights, cfg, tokens, False), reference,
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(forward_logits(weights, cfg, tokens, True), reference[:, -1],
                                   atol=1e-5, rtol=1e-5)


def test_same_seed_same_weights():
    cfg = CONFIGS[0]
    a, b = build_bridge(cfg, seed=5).state_dict(), build_bridge(cfg, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_bridge(cfg, seed=6).state_dict()
    assert not torch.equal(a["embed.weight"], c["embed.weight"])
