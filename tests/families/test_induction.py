"""Induction family: validation, probe, data stream, scores, training and analysis end to end."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.attention_sources import (
    attention_to_sources,
    induction_scores,
    previous_token_scores,
)
from miscope_core.families import ValidationError, get_family, list_families
from miscope_core.families.induction import induction_source_positions, repeated_sequences

FAMILY = get_family("induction")


def test_registry_lists_family():
    assert "induction" in list_families()
    assert FAMILY.describe()["architecture"]["d_mlp"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"vocab_size": 2}, "vocab_size must be between 4 and 1024, got 2"),
        ({"half_length": 1}, "half_length must be between 2 and 256, got 1"),
        ({"vocab_size": 8, "half_length": 9}, r"half_length must be <= vocab_size \(8\)"),
        ({"min_period": 17}, r"min_period must be <= half_length \(16\), got 17"),
        ({"min_period": 0}, "min_period must be between 1 and 256, got 0"),
        ({"data_seed": -3}, "data_seed must be a non-negative integer"),
        ({"half_length": "eight"}, "half_length must be an integer, got 'eight'"),
        ({"prime": 7}, r"Unknown parameter\(s\) \['prime'\].*valid parameters"),
    ],
)
def test_validation_errors_name_value_and_rule(params, message):
    with pytest.raises(ValidationError, match=message):
        FAMILY.validate_params(params)


def test_presets_resolve_to_minibatch_training():
    for name in ("tiny", "quick", "canonical"):
        params, config = FAMILY.resolve(name)
        assert config.batch_size == 64 and config.epochs > 0
        assert FAMILY.model_config(params).n_ctx == 2 * params["half_length"]
    assert FAMILY.resolve("canonical")[0]["half_length"] == 32


def test_probe_is_fixed_repeated_distinct_tokens_with_next_token_targets():
    params = FAMILY.validate_params({"vocab_size": 16, "half_length": 5})
    probe = FAMILY.build_probe(params)
    h = 5
    assert probe.tokens.shape == (64, 2 * h)
    assert np.array_equal(probe.tokens[:, :h], probe.tokens[:, h:])
    assert all(len(set(row[:h])) == h for row in probe.tokens)
    assert np.array_equal(probe.targets[:, :-1], probe.tokens[:, 1:])
    assert (probe.targets[:, -1] == -1).all()
    assert probe.hash == FAMILY.build_probe(params).hash
    other = FAMILY.build_probe(FAMILY.validate_params({"vocab_size": 16, "half_length": 6}))
    assert other.hash != probe.hash
    seeded = FAMILY.build_probe(
        FAMILY.validate_params({"vocab_size": 16, "half_length": 5, "seed": 3, "data_seed": 4})
    )
    assert seeded.hash == probe.hash  # seeds change the model and data, never the probe


def test_context_offsets_point_at_the_token_after_the_previous_occurrence():
    params = FAMILY.validate_params({"vocab_size": 16, "half_length": 4})
    context = FAMILY.context(params)
    assert set(context) == FAMILY.context_keys()
    assert list(context["induction_source_position"]) == [-1, -1, -1, -1, 1, 2, 3, 4]
    assert list(context["previous_occurrence_position"]) == [-1, -1, -1, -1, 0, 1, 2, 3]
    tokens = FAMILY.build_probe(params).tokens
    for t in range(4, 8):
        source = context["induction_source_position"][t]
        assert (tokens[:, source - 1] == tokens[:, t]).all()
    readout = context["readout_position"]
    assert np.array_equal(context["probe_labels"], tokens[:, readout + 1])
    assert "token_basis" not in context


def test_display_context_and_describe_stay_light():
    import json
    import subprocess
    import sys

    code = (
        "import sys, json; from miscope_core.families import get_family; "
        "f = get_family('induction'); p = f.validate_params({}); "
        "print(json.dumps({'display': f.display_context(p), 'describe': f.describe(), "
        "'torch': 'torch' in sys.modules}, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result["torch"] is False
    assert result["display"]["n_tokens"] == 32 and result["display"]["probe_sequence_length"] == 32
    assert result["describe"]["architecture"]["n_layers"] == 2


def test_eval_sets_score_disjoint_halves_of_the_same_sequences():
    params = FAMILY.validate_params({"vocab_size": 16, "half_length": 4})
    sets = FAMILY.make_task(params, "cpu").eval_sets()
    assert list(sets) == ["train", "test", "first_half", "repeated_half"]
    first, repeated, test = sets["first_half"], sets["repeated_half"], sets["test"]
    assert first.tokens is repeated.tokens is test.tokens  # the trainer runs them once
    assert np.flatnonzero(first.targets[0].numpy() >= 0).tolist() == [0, 1, 2]
    assert np.flatnonzero(repeated.targets[0].numpy() >= 0).tolist() == [4, 5, 6]
    assert np.flatnonzero(test.targets[0].numpy() >= 0).tolist() == list(range(7))
    assert sets["train"].tokens.shape == test.tokens.shape


def test_training_batches_are_a_function_of_the_generator_state():
    import torch

    params = FAMILY.validate_params({"vocab_size": 16, "half_length": 6, "min_period": 2})
    task = FAMILY.make_task(params, "cpu")
    generator = torch.Generator().manual_seed(7)
    task.train_batch(0, generator)
    state = generator.get_state()
    second = task.train_batch(1, generator)
    generator.set_state(state)
    again = task.train_batch(1, generator)
    assert torch.equal(second.tokens, again.tokens) and torch.equal(second.targets, again.targets)
    assert second.tokens.shape == (64, 12)
    assert torch.equal(second.targets[:, :-1], second.tokens[:, 1:])
    periods = [
        next(p for p in range(2, 7) if torch.equal(row[p:], row[:-p])) for row in second.tokens
    ]
    assert min(periods) >= 2 and len(set(periods)) > 1


def test_batch_size_comes_from_the_training_config():
    import torch

    params, config = FAMILY.resolve("tiny", training={"batch_size": 8})
    task = FAMILY.make_task(params, "cpu", training=config)
    assert task.train_batch(0, torch.Generator().manual_seed(0)).tokens.shape[0] == 8


def test_scores_known_answers():
    h, batch = 4, 3
    n = 2 * h
    pattern = np.zeros((batch, 3, n, n))
    sources = induction_source_positions(h)
    for t in range(n):
        pattern[:, 0, t, sources[t] if sources[t] >= 0 else t] = 1.0  # an induction head
        pattern[:, 1, t, max(t - 1, 0)] = 1.0  # a previous-token head
        pattern[:, 2, t, : t + 1] = 1.0 / (t + 1)  # uniform causal
    np.testing.assert_allclose(induction_scores(pattern), [1.0, 0.0, np.mean(1 / np.arange(5, 9))])
    np.testing.assert_allclose(previous_token_scores(pattern)[:2], [0.0, 1.0])
    with pytest.raises(ValueError, match="at least one query"):
        attention_to_sources(pattern, np.full(n, -1))
    with pytest.raises(ValueError, match="even length"):
        induction_scores(pattern[:, :, :7, :7])


def test_repeated_sequences_are_seeded():
    assert np.array_equal(repeated_sequences(4, 10, 3, seed=1), repeated_sequences(4, 10, 3, 1))
    assert not np.array_equal(repeated_sequences(4, 10, 3, 1), repeated_sequences(4, 10, 3, 2))


# --- through the real trainer and pipeline -------------------------------------------------
def best_layer_scores(paths, params, epochs):
    """{epoch: (best layer-1 induction, best layer-0 previous-token, best layer-0 induction)}."""
    import torch

    from miscope_core.models.bridge import load_bridge
    from miscope_core.training.checkpoints import load_checkpoint

    cfg = FAMILY.model_config(params)
    tokens = torch.from_numpy(FAMILY.build_probe(params).tokens)
    wanted = ("blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern")
    scores = {}
    for epoch in epochs:
        bridge = load_bridge(cfg, load_checkpoint(paths.checkpoints, epoch))
        with torch.no_grad():
            _, cache = bridge.run_with_cache(tokens, names_filter=lambda name: name in wanted)
        layer0, layer1 = (cache[name].numpy() for name in wanted)
        scores[epoch] = (
            induction_scores(layer1).max(),
            previous_token_scores(layer0).max(),
            induction_scores(layer0).max(),
        )
    return scores


@pytest.mark.slow
def test_tiny_variant_trains_and_analyzes_with_basis_analyzers_skipped(tmp_path):
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.training.trainer import load_metrics
    from tests.conftest import train_and_analyze

    workspace, paths = train_and_analyze(tmp_path, family="induction")
    record = workspace.read_variant_record(paths)
    assert record["status"] == "complete" and record["model"]["d_mlp"] is None
    metrics = load_metrics(paths)
    assert {
        "first_half_loss",
        "first_half_accuracy",
        "repeated_half_loss",
        "repeated_half_accuracy",
    } <= set(metrics)
    assert len(metrics["epoch"]) == 31 and np.isfinite(metrics["repeated_half_loss"]).all()
    report = run_analysis(paths, device="cpu")  # incremental: everything is already there
    assert report.work_done == 0
    assert "embedding.basis_norms" in report.skipped
    assert "token_basis" in report.skipped["embedding.basis_norms"]
    assert all(reason for reason in report.skipped.values())
    for analyzer in ("parameters.snapshot", "attention.patterns", "training.curves"):
        assert workspace_has(paths, analyzer), analyzer


def workspace_has(paths, analyzer):
    from miscope_core.analysis.artifacts import ArtifactStore

    return ArtifactStore(paths.artifacts, paths.root.name).has(analyzer)


def test_cancelled_minibatch_run_resumes_to_identical_weights(tmp_path):
    """The data generator's state is part of the resume file: cancel + resume == straight."""
    from miscope_core.training.checkpoints import load_checkpoint
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace

    params, config = FAMILY.resolve("tiny", training={"batch_size": 16})
    spec = VariantSpec("induction", params, config)
    straight = train_variant(spec, Workspace.open(tmp_path / "a"), device="cpu")
    calls = {"n": 0}

    def stop_after_17():
        calls["n"] += 1
        return calls["n"] > 17

    resumed_workspace = Workspace.open(tmp_path / "b")
    assert (
        train_variant(spec, resumed_workspace, device="cpu", should_stop=stop_after_17).status
        == "cancelled"
    )
    resumed = train_variant(spec, resumed_workspace, device="cpu")
    assert resumed.status == "complete"
    a = load_checkpoint(straight.paths.checkpoints, 30)
    b = load_checkpoint(resumed.paths.checkpoints, 30)
    assert all(torch_equal(a[k], b[k]) for k in a)


def torch_equal(x, y) -> bool:
    import torch

    return bool(torch.equal(x, y))


PHASE_CHANGE_TRAINING = {"epochs": 300, "lr": 5e-3, "checkpoints": "every:20"}


@pytest.mark.slow
def test_quick_setting_shows_the_induction_phase_change(tmp_path):
    """The quick preset at lr 5e-3 for 300 steps (the phase change comes earlier than at the
    preset's 3e-3): a plateau near ln(vocab), an abrupt drop of the repeated-half loss, and a
    layer-1 induction head (with a layer-0 previous-token head) appearing at the drop."""
    from miscope_core.training.checkpoints import list_checkpoint_epochs
    from miscope_core.training.trainer import load_metrics, train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace

    params, config = FAMILY.resolve("quick", training=PHASE_CHANGE_TRAINING)
    result = train_variant(
        VariantSpec("induction", params, config), Workspace.open(tmp_path), device="cpu"
    )
    repeated = load_metrics(result.paths)["repeated_half_loss"]
    plateau = np.log(params["vocab_size"]) - 0.3
    assert (repeated[:81] > plateau).all(), repeated[:81].min()
    drop = int(np.argmax(repeated < 1.5))
    assert 120 < drop < 300 and repeated[-1] < 1.3, (drop, repeated[-1])
    scores = best_layer_scores(
        result.paths, params, list_checkpoint_epochs(result.paths.checkpoints)
    )
    before = [s for epoch, s in scores.items() if epoch <= 80]
    after = [s for epoch, s in scores.items() if epoch >= drop]
    assert max(s[0] for s in before) < 0.1, before
    assert min(s[0] for s in after) > 0.4 and scores[300][0] > 0.5, after
    assert scores[300][1] > 2 * scores[0][1]  # a previous-token head formed
    assert max(s[2] for s in scores.values()) < 0.2  # no positional shortcut in layer 0
