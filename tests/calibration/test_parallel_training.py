"""Calibration runs train in parallel processes, with the same result as one at a time."""

import pytest
import torch

from miscope_core.calibration.runner import CalibrationRun, pretrain_in_parallel, variant_spec
from miscope_core.training.checkpoints import load_checkpoint
from miscope_core.training.trainer import train_variant
from miscope_core.workspace import Workspace


@pytest.mark.slow
def test_parallel_pretraining_matches_a_sequential_run(tmp_path):
    runs = [CalibrationRun("quick", "tiny", {"seed": s, "data_seed": s},
                           {"epochs": 10, "checkpoints": "every:5"}) for s in (0, 1)]
    parallel = Workspace.open(tmp_path / "parallel")
    pretrain_in_parallel(runs, parallel, "cpu", workers=2, log=lambda _: None)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' setting, so that both sides compute alike
    try:
        check_sequential_matches(runs, parallel, Workspace.open(tmp_path / "sequential"))
    finally:
        torch.set_num_threads(previous)


def check_sequential_matches(runs, parallel, sequential):
    for run in runs:
        spec = variant_spec(run)
        train_variant(spec, sequential, device="cpu")
        a = load_checkpoint(parallel.variant_paths(spec.family, spec.variant_id).checkpoints, 10)
        b = load_checkpoint(sequential.variant_paths(spec.family, spec.variant_id).checkpoints,
                            10)
        assert all(torch.equal(a[k], b[k]) for k in a), spec.variant_id
