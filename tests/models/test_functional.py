"""The trainer's plain-tensor forward agrees with the TransformerBridge."""

import pytest
import torch

from miscope_core.families import ModelConfig
from miscope_core.models.bridge import build_bridge
from miscope_core.models.functional import forward_from_embeddings, forward_logits

CONFIGS = [
    ModelConfig(
        n_layers=1, n_heads=4, d_model=32, d_head=8, d_mlp=64, d_vocab=14, d_vocab_out=13, n_ctx=3
    ),
    ModelConfig(
        n_layers=2, n_heads=2, d_model=16, d_head=8, d_mlp=None, d_vocab=10, d_vocab_out=10, n_ctx=6
    ),
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
        torch.testing.assert_close(
            forward_logits(weights, cfg, tokens, False), reference, atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            forward_logits(weights, cfg, tokens, True), reference[:, -1], atol=1e-5, rtol=1e-5
        )


def test_same_seed_same_weights():
    cfg = CONFIGS[0]
    a, b = build_bridge(cfg, seed=5).state_dict(), build_bridge(cfg, seed=5).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_bridge(cfg, seed=6).state_dict()
    assert not torch.equal(a["embed.weight"], c["embed.weight"])


@pytest.mark.parametrize("cfg", CONFIGS, ids=["mlp-1layer", "attn-only-2layer"])
@pytest.mark.parametrize("last_only", [False, True])
def test_projection_table_path_matches_bridge_values_and_gradients(cfg, last_only):
    """A batch larger than the vocabulary takes the first-layer table path; its logits and
    gradients agree with TransformerLens's forward pass."""
    bridge = build_bridge(cfg, seed=4)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, value in bridge.state_dict(keep_vars=True).items():
            if name.endswith(".bias"):
                value.copy_(torch.randn(value.shape, generator=generator) * 0.1)
    tokens = torch.randint(0, cfg.d_vocab, (5 * cfg.d_vocab, cfg.n_ctx), generator=generator)
    weights = {k: v.detach().clone().requires_grad_(True) for k, v in bridge.state_dict().items()}
    ours = forward_logits(weights, cfg, tokens, last_only)
    ours.square().sum().backward()
    reference = bridge(tokens)
    reference = reference[:, -1] if last_only else reference
    reference.square().sum().backward()
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
    params = bridge.state_dict(keep_vars=True)
    compared = set()
    for name, weight in weights.items():
        expected = params[name].grad
        if expected is None:  # not reached by the loss (e.g. unused positions)
            continue
        torch.testing.assert_close(weight.grad, expected, atol=1e-4, rtol=1e-4, msg=name)
        compared.add(name)
    assert {
        "embed.weight",
        "pos_embed.weight",
        "blocks.0.attn.q.weight",
        "blocks.0.attn.k.weight",
        "blocks.0.attn.v.weight",
    } <= compared


def test_forward_from_embeddings_matches_the_token_forward():
    """Embeddings given directly (as clock_pizza differentiates by them) give the same logits as
    the tokens' forward pass, whose first layer takes the projection-table path here."""
    cfg = CONFIGS[0]
    weights = build_bridge(cfg, seed=3).state_dict()
    generator = torch.Generator().manual_seed(2)
    tokens = torch.randint(0, cfg.d_vocab, (4 * cfg.d_vocab, cfg.n_ctx), generator=generator)
    with torch.no_grad():
        expected = forward_logits(weights, cfg, tokens, last_only=True)
        got = forward_from_embeddings(weights, cfg, weights["embed.weight"][tokens], True)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
