"""interventions.ablation: known answers on the tiny real variants of both families."""

import numpy as np
import pytest
import torch

from miscope_core.analysis.analyzers.ablation import compute_ablation
from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.families import get_family
from miscope_core.io import read_json
from miscope_core.metrics_file import read_metrics
from miscope_core.models.bridge import load_bridge
from miscope_core.training.checkpoints import list_checkpoint_epochs, load_checkpoint
from miscope_core.variants import VariantSpec


def epoch_inputs(paths, epoch=None, edit=None) -> EpochInputs:
    """The pipeline's inputs for one checkpoint (weights optionally edited first)."""
    spec = VariantSpec.from_dict(read_json(paths.variant_json))
    family = get_family(spec.family)
    cfg = family.model_config(spec.params)
    epoch = list_checkpoint_epochs(paths.checkpoints)[-1] if epoch is None else epoch
    state = load_checkpoint(paths.checkpoints, epoch)
    if edit:
        edit(state)
    model = load_bridge(cfg, state)
    probe = family.build_probe(spec.params)
    return EpochInputs(epoch, cfg, probe, family.context(spec.params), {}, model=model)


def silence_head_and_neurons(state):
    """Zero head 1's output weights and neurons 0..9's output weights: both unused."""
    d_head = 32
    state["blocks.0.attn.o.weight"][:, d_head : 2 * d_head] = 0
    state["blocks.0.mlp.out.weight"][:, :10] = 0


UNUSED = [
    {"kind": "head", "layer": 0, "head": 1},
    {"kind": "neurons", "layer": 0, "neurons": list(range(10))},
]


@pytest.mark.parametrize("method", ["zero", "mean", "resample"])
def test_ablating_a_component_the_forward_pass_does_not_use_changes_nothing(tiny_variant, method):
    inputs = epoch_inputs(tiny_variant[1], edit=silence_head_and_neurons)
    out = compute_ablation(inputs, components=UNUSED, method=method)
    for row in range(len(UNUSED)):
        assert np.array_equal(out["loss"][row], out["baseline_loss"])
        assert np.array_equal(out["accuracy"][row], out["baseline_accuracy"])
    # the same components in the unedited model do matter: the check can fail
    used = compute_ablation(epoch_inputs(tiny_variant[1]), components=UNUSED, method=method)
    assert not np.array_equal(used["loss"][1], used["baseline_loss"])


def test_replacing_the_whole_final_residual_stream_gives_constant_predictions(tiny_variant):
    inputs = epoch_inputs(tiny_variant[1])
    stream = [{"kind": "residual", "hook": "blocks.0.hook_resid_post"}]
    zero = compute_ablation(inputs, components=stream, method="zero")
    mean = compute_ablation(inputs, components=stream, method="mean")
    p = inputs.config.d_vocab_out
    # zero: logits = b_U = 0 (biases are frozen at zero), the uniform prediction, loss ln p
    np.testing.assert_allclose(zero["loss"][0], np.log(p), rtol=1e-12)
    # mean: every row gets the probe's mean logits (unembedding is affine), i.e. the loss of
    # the constant prediction softmax(mean logits); never below the uniform-prediction loss
    # ln p, since every answer is equally frequent on the full grid
    tokens = torch.from_numpy(inputs.probe.tokens)
    with torch.no_grad():
        logits = inputs.model(tokens)[:, 2].double()
    log_q = torch.log_softmax(logits.mean(0), -1)
    labels = torch.from_numpy(inputs.probe.targets)
    train = torch.from_numpy(inputs.context["probe_train_mask"])
    expected = [float(-log_q[labels[m]].mean()) for m in (train, ~train)]
    np.testing.assert_allclose(mean["loss"][0], expected, rtol=1e-6)
    assert (mean["loss"][0] >= np.log(p) - 0.05).all()


def test_clean_pass_reproduces_the_trainers_metrics(tiny_variant):
    paths = tiny_variant[1]
    metrics = read_metrics(paths)
    for epoch in (0, 40):
        out = compute_ablation(epoch_inputs(paths, epoch), components=[], method="mean")
        assert list(out["set_names"]) == ["train", "test"]
        expected = [metrics["train_loss"][epoch], metrics["test_loss"][epoch]]
        np.testing.assert_allclose(out["baseline_loss"], expected, rtol=1e-4)
        accuracy = [metrics["train_accuracy"][epoch], metrics["test_accuracy"][epoch]]
        np.testing.assert_allclose(out["baseline_accuracy"], accuracy, atol=1e-9)


def test_frequency_subspace_and_logit_frequency_norms(tiny_variant):
    inputs = epoch_inputs(tiny_variant[1])
    every = list(range(1, 7))  # p = 13: all six frequencies span every token direction
    component = {"kind": "residual", "hook": "hook_embed", "frequencies": every}
    out = compute_ablation(inputs, components=[component], method="mean")
    assert out["logit_frequency_norms"].shape == (2, 6)
    # removing every non-constant token direction leaves the a and b embeddings constant:
    # nothing about the inputs reaches the logits, so no frequency remains in them
    assert out["logit_frequency_norms"][1].max() < 1e-4 * out["logit_frequency_norms"][0].max()


def test_pipeline_runs_it_on_both_families(tiny_variant, tiny_induction_variant):
    # the session fixtures run the interventions after the default battery (tests/conftest.py)
    for (_, paths), heads, sets in (
        (tiny_variant, 4, ["train", "test"]),
        (tiny_induction_variant, 8, ["probe", "repeated_half"]),
    ):
        summary = ArtifactStore(paths.artifacts).load_summary("interventions.ablation")
        n_epochs = len(list_checkpoint_epochs(paths.checkpoints))
        assert summary["loss"].shape == (n_epochs, heads, len(sets))
        assert list(summary["set_names"][0]) == sets
        assert list(summary["component_names"][0])[:2] == ["L0H0", "L0H1"]


@pytest.mark.parametrize(
    ("components", "method", "message"),
    [
        ("heads", "median", "method must be one of"),
        ([{"kind": "head", "layer": 0, "head": 4}], "mean", "head must be an integer in 0..3"),
        ([{"kind": "neurons", "layer": 0, "neurons": []}], "mean", "non-empty 'neurons'"),
        ([{"kind": "mlp"}], "mean", "kind must be one of"),
        ([{"kind": "residual", "hook": "hook_embed", "frequencies": [99]}], "mean", "not in"),
        ("all", "mean", "components must be 'heads' or a list"),
    ],
)
def test_bad_parameters_name_the_value(tiny_variant, components, method, message):
    with pytest.raises(ValueError, match=message):
        compute_ablation(epoch_inputs(tiny_variant[1]), components=components, method=method)


def test_patching_a_checkpoint_into_itself_recovers_it_exactly(tiny_variant):
    workspace, paths = tiny_variant
    arrays = ArtifactStore(paths.artifacts).load_cross_epoch("interventions.patching")
    epochs = list(arrays["epochs"])
    assert epochs == list_checkpoint_epochs(paths.checkpoints)  # 5 checkpoints <= n_grid 8
    for c in range(len(arrays["component_names"])):
        assert np.array_equal(np.diag(arrays["loss"][c]), arrays["clean_loss"])
        diagonal = np.diag(arrays["recovered"][c])
        assert np.allclose(diagonal[np.isfinite(diagonal)], 1.0)
    assert str(arrays["set_name"]) == "test"
