"""Same settings give byte-identical checkpoints, metrics and resume state: across processes,
ambient thread settings, front ends (CLI vs in-process) and SIGKILL + resume.

No test here pins the thread count of the code under test: the trainer must fix its own.
"""

import filecmp
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from miscope_core.families import get_family
from miscope_core.io import read_json
from miscope_core.training.trainer import train_variant
from miscope_core.variants import VariantSpec
from miscope_core.workspace import Workspace

PRIME, EPOCHS, EVERY = 17, 80, 10
FAMILY = get_family("modulo_addition")

# Prints each epoch as it finishes, so that the parent can kill it at a chosen point.
TRAIN_SCRIPT = textwrap.dedent(f"""
    import sys
    from miscope_core.families import get_family
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace
    params, config = get_family("modulo_addition").resolve(
        "tiny", params={{"prime": {PRIME}, "train_fraction": 0.4}},
        training={{"epochs": {EPOCHS}, "checkpoints": "every:{EVERY}"}})
    train_variant(VariantSpec("modulo_addition", params, config), Workspace.open(sys.argv[1]),
                  device="cpu", resume_every_s=0.02,
                  on_progress=lambda p: print(p.epoch, flush=True))
""")


def spec() -> VariantSpec:
    params, config = FAMILY.resolve(
        "tiny",
        params={"prime": PRIME, "train_fraction": 0.4},
        training={"epochs": EPOCHS, "checkpoints": f"every:{EVERY}"},
    )
    return VariantSpec("modulo_addition", params, config)


def variant_dir(root: Path) -> Path:
    return Workspace.open(root).variant_paths("modulo_addition", spec().variant_id).root


def result_files(root: Path) -> list[str]:
    """Every file whose bytes must not depend on how the run went (not variant.json's times)."""
    base = variant_dir(root)
    names = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    # A kill mid-write can leave a hidden temp file (their cleanup is tested elsewhere);
    # resume.prev is a backup of whichever resume save came before the last, a matter of timing.
    skip = ("variant.json", "checkpoints/resume.prev.safetensors")
    return [n for n in names if n not in skip and not Path(n).name.startswith(".")]


def assert_identical(reference: Path, other: Path, note: str = "") -> None:
    expected = result_files(reference)
    checkpoints = [f"checkpoints/epoch_{e:06d}.safetensors" for e in range(0, EPOCHS + 1, EVERY)]
    wanted = {*checkpoints, "checkpoints/resume.safetensors", "metrics.npz"}
    assert wanted <= set(expected), expected
    assert result_files(other) == expected, note
    differ = [
        n
        for n in expected
        if not filecmp.cmp(variant_dir(reference) / n, variant_dir(other) / n, shallow=False)
    ]
    assert not differ, f"files differ {note}: {differ}"


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Path:
    """An uninterrupted run through the CLI in a subprocess, with a different ambient
    OMP_NUM_THREADS than this test process has."""
    root = tmp_path_factory.mktemp("reference")
    ambient = os.environ.get("OMP_NUM_THREADS")
    env = {**os.environ, "OMP_NUM_THREADS": "3" if ambient != "3" else "2"}
    command = [
        sys.executable,
        "-c",
        "from app.cli.main import main; raise SystemExit(main())",
        "train",
        "modulo_addition",
        "--preset",
        "tiny",
        "--param",
        f"prime={PRIME}",
        "--param",
        "train_fraction=0.4",
        "--epochs",
        str(EPOCHS),
        "--checkpoints",
        f"every:{EVERY}",
        "--device",
        "cpu",
        "--data-dir",
        str(root),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return root


def test_two_uninterrupted_runs_are_byte_identical(reference_run, tmp_path):
    threads_before = torch.get_num_threads()
    result = train_variant(spec(), Workspace.open(tmp_path), device="cpu")
    assert torch.get_num_threads() == threads_before, "the trainer restores the thread count"
    assert result.status == "complete"
    assert_identical(reference_run, tmp_path, "(CLI subprocess vs in-process run)")
    record = read_json(result.paths.variant_json)
    assert record["threads"] == 1 and record["device"] == "cpu"
    assert record["torch_version"] == torch.__version__


def run_until_killed(root: Path, rng: random.Random) -> int | None:
    """Start training, SIGKILL it at a random epoch plus a random delay; the epoch it had
    reported (None if it finished first)."""
    target = rng.randrange(1, EPOCHS)
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAIN_SCRIPT, str(root)], stdout=subprocess.PIPE, text=True
    )
    reached = None
    for line in proc.stdout:
        reached = int(line)
        if reached >= target:
            time.sleep(rng.uniform(0, 0.03))
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stdout.close()
    return reached if reached is None or reached < EPOCHS else None


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_is_byte_identical(reference_run, tmp_path):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    kills = [run_until_killed(tmp_path, rng) for _ in range(3)]
    record = read_json(variant_dir(tmp_path) / "variant.json")
    assert record["status"] in ("training", "complete"), record["status"]
    finished = subprocess.run(
        [sys.executable, "-c", TRAIN_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert_identical(reference_run, tmp_path, f"(killed at epochs {kills}, seed {seed})")
