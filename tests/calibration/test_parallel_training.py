"""Calibration runs train and analyze in parallel processes, with the same result as one at a
time."""

import pytest
import torch

from miscope_core.calibration.runner import (
    CalibrationRun,
    analyze_run,
    prepare_in_parallel,
    variant_spec,
)
from miscope_core.training.checkpoints import load_checkpoint
from miscope_core.training.trainer import train_variant
from miscope_core.workspace import Workspace


@pytest.mark.slow
def test_parallel_preparation_matches_a_sequential_run(tmp_path):
    runs = [CalibrationRun("quick", "tiny", {"seed": s, "data_seed": s},
                           {"epochs": 10, "checkpoints": "every:5"}) for s in (0, 1)]
    parallel = Workspace.open(tmp_path / "parallel")
    seconds = prepare_in_parallel(runs, parallel, "cpu", workers=2, log=lambda _: None)
    assert set(seconds) == {variant_spec(r).variant_id for r in runs}
    assert all(train_s > 0 and analyze_s > 0 for train_s, analyze_s in seconds.values())
    for run in runs:  # a worker analyzed each run with the run's own analyzer parameters
        spec = variant_spec(run)
        paths = parallel.variant_paths(spec.family, spec.variant_id)
        assert analyze_run(run, paths, "cpu").work_done == 0, spec.variant_id
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
