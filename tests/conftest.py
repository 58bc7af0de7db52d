"""Shared fixtures: one tiny real variant, trained and analyzed once per session, read-only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

TINY_PARAMS = {"prime": 13, "train_fraction": 0.5, "seed": 0, "data_seed": 0}
TINY_TRAINING = {"epochs": 40, "checkpoints": "every:10"}
INTERVENTIONS = ("interventions.ablation", "interventions.patching")
# landscape.llc and its sweep are not in the default battery (hundreds of SGLD steps per
# checkpoint); the shared fixtures run them at a few steps so that their views have artifacts.
CHEAP_LLC = {
    "landscape.llc": {"n_chains": 2, "n_draws": 4, "n_burnin": 2, "batch_size": 32},
    "landscape.llc_calibration": {
        "epsilons": "1e-4,1e-3",
        "gammas": "100",
        "n_checkpoints": 2,
        "n_chains": 1,
        "n_draws": 4,
        "n_burnin": 2,
        "batch_size": 32,
    },
}


def wait_for(condition, timeout=30.0, message="condition", poll_s=0.1):
    """Poll `condition` until it returns something truthy (returned) or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {message}")


def add_cheap_llc(paths) -> None:
    """Run landscape.llc and landscape.llc_calibration on a variant at CHEAP_LLC settings."""
    from miscope_core.analysis.pipeline import run_analysis

    run_analysis(paths, analyzers=list(CHEAP_LLC), params=CHEAP_LLC, device="cpu")


def train_and_analyze(
    root: Path, params=None, training=None, family="modulo_addition", analyzers=None
):
    """Train a small variant into workspace `root` and run the default battery on it."""
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.families import get_family
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(root)
    fam = get_family(family)
    resolved, config = (
        fam.resolve(
            "tiny",
            params={**TINY_PARAMS, **(params or {})},
            training={**TINY_TRAINING, **(training or {})},
        )
        if family == "modulo_addition"
        else fam.resolve("tiny", params=params, training=training)
    )
    spec = VariantSpec(family, resolved, config)
    result = train_variant(spec, workspace, device="cpu")
    run_analysis(result.paths, analyzers=analyzers, device="cpu")
    if analyzers is None:  # the opt-in interventions too, so every catalog view can render
        run_analysis(result.paths, analyzers=list(INTERVENTIONS), device="cpu")
    return workspace, result.paths


@pytest.fixture(scope="session")
def tiny_variant(tmp_path_factory):
    """(workspace, variant paths) of a p=13 variant, 40 epochs, checkpoints every 10, analyzed.

    Shared across the session: tests must not modify it (copy it first).
    """
    root = tmp_path_factory.mktemp("tiny_workspace")
    workspace, paths = train_and_analyze(root)
    add_cheap_llc(paths)
    return workspace, paths


@pytest.fixture(scope="session")
def tiny_induction_variant(tmp_path_factory):
    """(workspace, variant paths) of the induction family's tiny preset, analyzed (read-only)."""
    root = tmp_path_factory.mktemp("tiny_induction_workspace")
    workspace, paths = train_and_analyze(
        root, family="induction", training={"checkpoints": "every:10"}
    )
    add_cheap_llc(paths)
    return workspace, paths


@pytest.fixture
def isolated_data_dir(tmp_path, monkeypatch):
    """Point MISCOPE_DATA_DIR at a fresh temporary workspace."""
    monkeypatch.setenv("MISCOPE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def pytest_configure(config):
    """Keep BLAS single-threaded so that timings and results are stable on 2 cores."""
    os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_unconfigure(config):
    """Kill background-callback processes that are still alive when the session ends.

    Dash's DiskcacheManager forks them from the threaded test server. A child forked while
    another thread held SQLite's lock waits on it forever (seen once in about ten full runs,
    in diskcache's `Cache._con`), and multiprocess's exit handler would then join it forever:
    the run would pass and never exit.
    """
    try:
        import multiprocess
    except ImportError:
        return
    for child in multiprocess.active_children():
        child.kill()
        child.join(timeout=5)


TINY_SWEEP = {
    "grid": {"prime": [7, 11], "train_fraction": [0.5, 0.7]},
    "seeds": [0, 1, 2, 3],
    "training": {"epochs": 20, "checkpoints": "0,10,20"},
}


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """(workspace, SweepSpec) of a 2x2 grid x 4 seeds sweep of the tiny preset, trained in
    this process (16 variants, 20 epochs each, not analyzed) and recorded. Read-only."""
    from miscope_core.sweeps import SweepSpec, save_sweep
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(tmp_path_factory.mktemp("tiny_sweep"))
    spec = SweepSpec.build(
        "modulo_addition",
        TINY_SWEEP["grid"],
        TINY_SWEEP["seeds"],
        "tiny",
        TINY_SWEEP["training"],
    )
    for variant in spec.variant_specs():
        train_variant(variant, workspace, device="cpu")
    save_sweep(workspace, spec)
    return workspace, spec
