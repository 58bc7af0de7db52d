"""Known answers for logit attribution per frequency (whole logits, heads, neurons, clusters)."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.cluster_attribution import cluster_sums, neuron_clusters
from miscope_core.analysis.analyzers.logit_attribution import compute_frequency_attribution
from miscope_core.analysis.analyzers.logit_projections import grid_sum_directions
from miscope_core.analysis.analyzers.progress_measures import epoch_losses
from miscope_core.analysis.artifacts import ArtifactStore
from tests.analysis.analysis_helpers import grid_ab, synthetic_inputs

P = 11
D_MODEL, D_MLP, N_HEADS, D_HEAD = 16, 8, 2, 4


def wave(k: int, phase_of_c: float = -1.0, sine: bool = False) -> np.ndarray:
    """cos or sin(w_k(a + b + phase_of_c * c)) over [p^2, p]."""
    a, b = grid_ab(P)
    angle = 2 * np.pi * k * ((a + b)[:, None] + phase_of_c * np.arange(P)) / P
    return np.sin(angle) if sine else np.cos(angle)


def attribution_inputs(readout: np.ndarray, post=None, z=None, weights=None, n_layers=1):
    """EpochInputs with the given readout logits [p^2, p] (and optional MLP/attention parts)."""
    rng = np.random.default_rng(1)
    logits = np.zeros((P * P, 3, P))
    logits[:, 2] = readout
    cache = {"hook_unembed": logits}
    for layer in range(n_layers):
        cache[f"blocks.{layer}.mlp.hook_post"] = (
            post if post is not None else rng.normal(size=(P * P, 3, D_MLP))
        )
        cache[f"blocks.{layer}.attn.hook_z"] = (
            z if z is not None else rng.normal(size=(P * P, 3, N_HEADS, D_HEAD))
        )
    weights = {
        "W_O": rng.normal(size=(n_layers, N_HEADS, D_HEAD, D_MODEL)),
        "W_out": rng.normal(size=(n_layers, D_MLP, D_MODEL)),
        "W_U": rng.normal(size=(D_MODEL, P)),
        **(weights or {}),
    }
    return synthetic_inputs(
        P, cache, weights, n_layers=n_layers, n_heads=N_HEADS, d_model=D_MODEL, d_mlp=D_MLP
    )


def test_planted_frequencies_give_their_coefficients_and_all_the_variance():
    # logits = 3 cos(w_2(a+b-c)) - 1.5 sin(w_2(a+b-c)) + 2 cos(w_5(a+b-c)) + a per-input shift
    a, _ = grid_ab(P)
    readout = 3 * wave(2) - 1.5 * wave(2, sine=True) + 2 * wave(5) + 7.0 * a[:, None]
    result = compute_frequency_attribution(attribution_inputs(readout))
    expected_cos = np.zeros(P // 2)
    expected_cos[[1, 4]] = [3.0, 2.0]
    expected_sin = np.zeros(P // 2)
    expected_sin[1] = -1.5
    np.testing.assert_allclose(result["cos_coefficients"], expected_cos, atol=1e-5)
    np.testing.assert_allclose(result["sin_coefficients"], expected_sin, atol=1e-5)
    # (the cache holds float32 activations, hence the tolerances)
    # the per-input shift is centred away: the planted terms explain 100% of the variance
    np.testing.assert_allclose(result["variance_explained"].sum(), 1.0, atol=1e-6)
    np.testing.assert_allclose(result["centred_variance"], (9 + 2.25 + 4) / 2, rtol=1e-6)
    cos_share = result["cos_variance_explained"]
    np.testing.assert_allclose(cos_share[[1, 4]], [9 / 15.25, 4 / 15.25], rtol=1e-6)


def test_a_plus_b_plus_c_and_noise_are_not_attributed(rng):
    readout = wave(3, phase_of_c=+1.0)  # cos(w(a+b+c)) is orthogonal to every cube
    result = compute_frequency_attribution(attribution_inputs(readout))
    np.testing.assert_allclose(result["variance_explained"], 0.0, atol=1e-10)
    noise = compute_frequency_attribution(attribution_inputs(rng.normal(size=(P * P, P))))
    # 2 of the p^2 p - p^2 centred dimensions per frequency: noise explains ~ 2 (p//2) / (p^2 (p-1))
    assert noise["variance_explained"].sum() < 0.05


def test_a_neuron_and_a_head_get_their_direct_amplitudes():
    k = 4
    a, b = grid_ab(P)
    post = np.zeros((P * P, 3, D_MLP))
    post[:, 2, 0] = np.cos(2 * np.pi * k * (a + b) / P)  # neuron 0 reads cos(w_k(a+b))
    w_out = np.zeros((1, D_MLP, D_MODEL))
    w_out[0, 0, 0] = 1.0
    w_u = np.zeros((D_MODEL, P))
    w_u[0] = np.cos(2 * np.pi * k * np.arange(P) / P)  # ... and writes cos(w_k c)
    z = np.zeros((P * P, 3, N_HEADS, D_HEAD))
    z[:, 2, 1, 0] = np.sin(2 * np.pi * k * (a + b) / P)  # head 1 reads sin(w_k(a+b))
    w_o = np.zeros((1, N_HEADS, D_HEAD, D_MODEL))
    w_o[0, 1, 0, 1] = 1.0
    w_u[1] = np.sin(2 * np.pi * k * np.arange(P) / P)  # ... and writes sin(w_k c)
    weights = {"W_out": w_out, "W_U": w_u, "W_O": w_o}
    readout = wave(k)  # cos cos + sin sin = cos(w(a+b-c))
    result = compute_frequency_attribution(attribution_inputs(readout, post, z, weights))
    # cos(x)cos(y) = (cos(x-y) + cos(x+y))/2: amplitude 1/2 on the cube, the rest is a+b+c
    neuron = result["neuron_cos_coefficients"].astype(np.float64)
    np.testing.assert_allclose(neuron[0, 0, k - 1], 0.5, atol=1e-3)
    np.testing.assert_allclose(np.delete(neuron[0].ravel(), k - 1), 0.0, atol=1e-3)
    np.testing.assert_allclose(result["head_cos_coefficients"][0, 1, k - 1], 0.5, atol=1e-5)
    np.testing.assert_allclose(result["head_cos_coefficients"][0, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(result["cos_coefficients"][k - 1], 1.0, atol=1e-5)


def test_clusters_sum_their_neurons():
    dominant = np.array([[2, 2, 3, 5]])
    fractions = np.array([[0.9, 0.95, 0.99, 0.5]])
    labels, clusters = neuron_clusters(dominant, fractions, 0.85)
    assert labels.tolist() == [[2, 2, 3, 0]] and clusters.tolist() == [0, 2, 3]
    values = np.arange(4 * 2, dtype=np.float64).reshape(1, 4, 2)
    np.testing.assert_allclose(cluster_sums(values, labels, clusters), [[6, 7], [2, 4], [4, 5]])
    with pytest.raises(ValueError, match="threshold"):
        neuron_clusters(dominant, fractions, 85)


def test_real_variant_attribution_adds_up(tiny_variant):
    _, paths = tiny_variant
    store = ArtifactStore(paths.artifacts)
    last = store.epochs_with("logits.frequency_attribution")[-1]
    arrays = store.load_epoch("logits.frequency_attribution", last)
    # no LayerNorm, one layer: the logits' amplitudes are the heads' plus the neurons' (the
    # embeddings at the readout position are the constant '=' token and drop out)
    for part in ("cos", "sin"):
        total = arrays[f"{part}_coefficients"]
        heads = arrays[f"head_{part}_coefficients"].astype(np.float64).sum(axis=(0, 1))
        neurons = arrays[f"neuron_{part}_coefficients"].astype(np.float64).sum(axis=(0, 1))
        np.testing.assert_allclose(heads + neurons, total, atol=2e-3 * np.abs(total).max())
    clusters = store.load_cross_epoch("neurons.cluster_logit_attribution")
    neurons = arrays["neuron_cos_coefficients"].astype(np.float64).sum(axis=(0, 1))
    np.testing.assert_allclose(clusters["cluster_cos_coefficients"][-1].sum(axis=0), neurons)
    assert clusters["cluster_size"].sum() == arrays["neuron_cos_coefficients"].shape[1]


def test_real_variant_key_attribution_and_single_frequency_excluded_loss(tiny_variant):
    workspace, paths = tiny_variant
    store = ArtifactStore(paths.artifacts)
    result = store.load_cross_epoch("logits.key_frequency_attribution")
    summary = store.load_summary("logits.frequency_attribution")
    keys = result["key_frequencies"]
    if len(keys):
        np.testing.assert_allclose(
            result["key_variance_explained"],
            summary["variance_explained"][:, keys - 1].sum(axis=1),
        )
        assert np.all(result["key_cos_variance_explained"] <= result["key_variance_explained"])
    # one frequency removed at a time = progress.measures' excluded loss with that key set
    from miscope_core.families import get_family
    from miscope_core.io import read_json
    from miscope_core.variants import VariantSpec

    spec = VariantSpec.from_dict(read_json(paths.variant_json))
    context = get_family(spec.family).context(spec.params)
    directions, direction_k = grid_sum_directions(context)
    labels = np.asarray(context["probe_labels"])
    train = np.asarray(context["probe_train_mask"], dtype=bool)
    epochs = result["epochs"]
    for index in (0, len(epochs) - 1):
        arrays = store.load_epoch("progress.logit_projections", int(epochs[index]))
        for k in (1, 3):
            expected = epoch_losses(arrays, directions, direction_k, [k], labels, train)
            np.testing.assert_allclose(
                result["single_frequency_excluded_loss"][index, k - 1],
                expected["excluded_loss"],
                rtol=1e-12,
            )


@pytest.mark.parametrize(
    "share, keys, status",
    [(0.95, [2, 5], "pass"), (0.5, [2, 5], "fail"), (float("nan"), [], "not run")],
)
def test_calibration_check_reads_the_final_key_share(tmp_path, share, keys, status):
    from types import SimpleNamespace

    from miscope_core.calibration.checks import check_logit_variance_explained

    store = ArtifactStore(tmp_path / "artifacts")
    store.save_cross_epoch(
        "logits.key_frequency_attribution",
        {
            "epochs": np.array([0, 10]),
            "key_frequencies": np.array(keys, dtype=np.int16),
            "key_variance_explained": np.array([0.1, share]),
            "key_cos_variance_explained": np.array([0.1, share]),
            "single_frequency_excluded_loss": np.zeros((2, 5)),
        },
    )
    check = check_logit_variance_explained(SimpleNamespace(store=store))
    assert check.status == status, check
    assert check.detail.startswith("k = " + (", ".join(map(str, keys)) or "none"))
