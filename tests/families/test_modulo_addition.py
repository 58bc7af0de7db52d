"""Modulo-addition family: validation, probe, Fourier basis, split."""

import numpy as np
import pytest

from miscope_core.families import ValidationError, get_family, list_families
from miscope_core.families.fourier import fourier_basis, fourier_row_frequencies
from miscope_core.families.modulo_addition import grid_tokens, train_indices

FAMILY = get_family("modulo_addition")


def test_registry_lists_family_and_suggests_close_names():
    assert "modulo_addition" in list_families()
    with pytest.raises(KeyError, match="modulo_addition"):
        get_family("modulo_adition")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prime": 100}, "prime must be a prime number >= 3, got 100"),
        ({"prime": 2}, "prime must be a prime number >= 3, got 2"),
        ({"train_fraction": 1.0}, "train_fraction must be strictly between 0 and 1"),
        ({"train_fraction": 0}, "train_fraction must be strictly between 0 and 1"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"prime": "abc"}, "prime must be an integer, got 'abc'"),
        ({"modulus": 7}, r"Unknown parameter\(s\) \['modulus'\].*valid parameters"),
    ],
)
def test_validation_errors_name_value_and_rule(params, message):
    with pytest.raises(ValidationError, match=message):
        FAMILY.validate_params(params)


def test_defaults_and_string_coercion():
    params = FAMILY.validate_params({"prime": "59", "train_fraction": "0.4"})
    assert params == {"prime": 59, "seed": 999, "data_seed": 598, "train_fraction": 0.4}


def test_presets_resolve_and_unknown_preset_lists_choices():
    params, config = FAMILY.resolve("canonical")
    assert params["prime"] == 113 and params["train_fraction"] == 0.3
    assert config.epochs == 25000 and config.weight_decay == 1.0 and config.betas == (0.9, 0.98)
    with pytest.raises(ValidationError, match="available presets"):
        FAMILY.resolve("fast")
    with pytest.raises(ValidationError, match="Unknown training setting"):
        FAMILY.resolve("tiny", training={"learning_rate": 1})


@pytest.mark.parametrize("p", [3, 7, 13, 59, 113])
def test_fourier_basis_is_orthonormal_with_paper_row_order(p):
    basis = fourier_basis(p)
    assert basis.shape == (p, p)
    np.testing.assert_allclose(basis @ basis.T, np.eye(p), atol=1e-10)
    x = np.arange(p)
    np.testing.assert_allclose(basis[1], np.cos(2 * np.pi * x / p) / np.sqrt(p / 2), atol=1e-12)
    np.testing.assert_allclose(basis[2], np.sin(2 * np.pi * x / p) / np.sqrt(p / 2), atol=1e-12)
    assert list(fourier_row_frequencies(p)[:5]) == [0, 1, 1, 2, 2][: min(5, p)]


def test_probe_is_full_grid_in_a_major_order():
    params = FAMILY.validate_params({"prime": 7})
    probe = FAMILY.build_probe(params)
    assert probe.tokens.shape == (49, 3)
    assert list(probe.tokens[7 * 3 + 5]) == [3, 5, 7]
    assert probe.targets[7 * 3 + 5] == (3 + 5) % 7
    assert probe.hash == FAMILY.build_probe(params).hash
    assert probe.hash != FAMILY.build_probe(FAMILY.validate_params({"prime": 11})).hash


def test_split_is_seeded_and_sized():
    first = train_indices(13, 0.5, data_seed=0)
    assert len(first) == int(0.5 * 169)
    assert np.array_equal(first, train_indices(13, 0.5, data_seed=0))
    assert not np.array_equal(first, train_indices(13, 0.5, data_seed=1))
    context = FAMILY.context(
        FAMILY.validate_params({"prime": 13, "train_fraction": 0.5, "data_seed": 0})
    )
    assert context["probe_train_mask"].sum() == len(first)
    assert np.array_equal(context["probe_labels"], grid_tokens(13)[:, :2].sum(1) % 13)


def test_default_schedule_is_dense_and_within_run():
    epochs = FAMILY.default_checkpoints({}, 3000)
    assert epochs[0] == 0 and epochs[-1] == 3000
    gaps = np.diff(epochs)
    assert gaps.max() <= 50 and len(epochs) >= 50
    mid = [e for e in epochs if 1200 <= e <= 2500]
    assert np.diff(mid).max() <= 25


def test_initial_weights_reproduce_the_tl_demo_initial_losses():
    # CALIBRATION §7.1: TL demo init (every W_* ~ N(0, 0.0707^2), demo draw order) at p=113,
    # 30%, seeds 999/598 gives train 4.734958 / test 4.733274. The bridge's native init
    # (W_O, W_out at std 0.050) misses by ~1e-3.
    from miscope_core.families.modulo_addition import DEMO_INITIAL_LOSS, demo_initial_losses

    losses = demo_initial_losses()
    for split, expected in DEMO_INITIAL_LOSS.items():
        assert abs(losses[split] - expected) < 1e-5, (split, losses[split])


def test_initial_weights_match_reference_std_for_every_weight():
    params = FAMILY.validate_params({"prime": 59})
    weights = FAMILY.initial_weights(params, FAMILY.model_config(params))
    for name in ("blocks.0.attn.o.weight", "blocks.0.mlp.out.weight", "embed.weight"):
        assert abs(float(weights[name].std()) - 0.0707) < 0.002, name
