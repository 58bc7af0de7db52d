"""Many seeds in one process: each member equals the variant trained alone, files and metrics."""

import numpy as np
import pytest
import torch

from miscope_core.families import ValidationError, get_family
from miscope_core.io import read_json
from miscope_core.specs import seed_specs
from miscope_core.training.checkpoints import list_checkpoint_epochs, load_checkpoint
from miscope_core.training.multiseed import train_seeds_together
from miscope_core.training.trainer import load_metrics, train_variant
from miscope_core.variants import VariantSpec
from miscope_core.workspace import Workspace

FAMILY = get_family("modulo_addition")
SEEDS = [0, 1, 2]
# Documented in docs/scaling.md: a member may differ from its solo twin by float rounding
# (batched products add in another order); on CPU the members have come out bit-identical.
WEIGHT_ATOL = 1e-5
METRIC_ATOL = 1e-6


def tiny_spec(epochs=24, checkpoints="every:8"):
    params, config = FAMILY.resolve(
        "tiny",
        params={"prime": 11},
        training={"epochs": epochs, "checkpoints": checkpoints, "resume_every": 12},
    )
    return VariantSpec("modulo_addition", params, config)


def assert_same_weights(a_dir, b_dir, epoch, atol=WEIGHT_ATOL):
    a, b = load_checkpoint(a_dir, epoch), load_checkpoint(b_dir, epoch)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)


@pytest.fixture(scope="module")
def group_and_solo(tmp_path_factory):
    """The same three seeds trained together and each alone, in two workspaces."""
    root = tmp_path_factory.mktemp("multiseed")
    group = train_seeds_together(tiny_spec(), SEEDS, Workspace.open(root / "group"), "cpu")
    solo = [
        train_variant(spec, Workspace.open(root / "solo"), "cpu")
        for spec in seed_specs(tiny_spec(), SEEDS)
    ]
    return group, solo


@pytest.mark.slow
def test_each_member_equals_its_solo_run(group_and_solo):
    group, solo = group_and_solo
    assert [r.status for r in group] == ["complete"] * 3
    assert [r.variant_id for r in group] == [r.variant_id for r in solo]
    for g, s in zip(group, solo, strict=True):
        assert g.checkpoint_epochs == s.checkpoint_epochs == [0, 8, 16, 24]
        for epoch in g.checkpoint_epochs:
            assert_same_weights(g.paths.checkpoints, s.paths.checkpoints, epoch)
        gm, sm = load_metrics(g.paths), load_metrics(s.paths)
        assert gm.keys() == sm.keys()
        for key in gm:
            np.testing.assert_allclose(gm[key], sm[key], atol=METRIC_ATOL, rtol=0, err_msg=key)
    finals = [load_checkpoint(g.paths.checkpoints, 24)["embed.weight"] for g in group]
    assert not torch.equal(finals[0], finals[1]), "different seeds must train different models"


@pytest.mark.slow
def test_members_are_ordinary_variants(group_and_solo):
    group, solo = group_and_solo
    for g, s in zip(group, solo, strict=True):
        files = sorted(str(p.relative_to(g.paths.root)) for p in g.paths.root.rglob("*"))
        assert files == sorted(str(p.relative_to(s.paths.root)) for p in s.paths.root.rglob("*"))
        assert "checkpoints/resume/epoch_000012.safetensors" in files  # kept for densify
        record, alone = read_json(g.paths.variant_json), read_json(s.paths.variant_json)
        assert record["seed_group"] == [r.variant_id for r in group]
        for key in ("params", "training", "probe", "status", "epochs_completed", "threads"):
            assert record[key] == alone[key], key


@pytest.mark.slow
def test_cancel_then_resume_together_or_extend_one_alone(tmp_path, group_and_solo):
    group, _ = group_and_solo
    workspace = Workspace.open(tmp_path)
    polls = iter(range(1000))
    stopped = train_seeds_together(
        tiny_spec(), SEEDS, workspace, "cpu", should_stop=lambda: next(polls) >= 13
    )
    assert {r.status for r in stopped} == {"cancelled"} and stopped[0].epochs_completed == 12
    resumed = train_seeds_together(tiny_spec(), SEEDS, workspace, "cpu")
    assert [r.status for r in resumed] == ["complete"] * 3
    for done, reference in zip(resumed, group, strict=True):
        assert_same_weights(done.paths.checkpoints, reference.paths.checkpoints, 24, atol=0)
    assert {r.status for r in train_seeds_together(tiny_spec(), SEEDS, workspace)} == {
        "already_complete"
    }
    # the resume file is the solo trainer's: one member is extended alone
    longer = train_variant(tiny_spec(epochs=32), workspace, "cpu")
    assert (
        longer.status == "complete" and list_checkpoint_epochs(longer.paths.checkpoints)[-1] == 32
    )


@pytest.mark.slow
def test_members_a_save_apart_are_rolled_back_and_joined(tmp_path, group_and_solo):
    group, _ = group_and_solo
    workspace = Workspace.open(tmp_path)
    polls = iter(range(1000))
    train_seeds_together(tiny_spec(), SEEDS, workspace, "cpu", should_stop=lambda: next(polls) >= 5)
    # a kill between two members' saves: member 0 holds the newer state, the others the older
    ahead = train_seeds_together(
        tiny_spec(), SEEDS[:1], workspace, "cpu", should_stop=lambda: next(polls) >= 9
    )
    assert ahead[0].epochs_completed > 4
    finished = train_seeds_together(tiny_spec(), SEEDS, workspace, "cpu")
    assert [r.status for r in finished] == ["complete"] * 3
    for done, reference in zip(finished, group, strict=True):
        assert_same_weights(done.paths.checkpoints, reference.paths.checkpoints, 24)


@pytest.mark.parametrize(
    ("seeds", "seed_param", "message"),
    [
        ([1, 1], "seed", "distinct"),
        ([], "seed", "1..4096 seeds"),
        ([1, 2], "sead", "seed_param must be one of"),
        ([1, -3], "seed", "seed must be a non-negative integer"),
    ],
)
def test_bad_seed_lists_are_refused(seeds, seed_param, message):
    with pytest.raises(ValidationError, match=message):
        seed_specs(tiny_spec(), seeds, seed_param)
