"""Kills at random points: training and analysis, SIGKILLed and rerun, match an unbroken run.

Trains a small variant (p=17, 40% data) once without interruption, then again in another
workspace while SIGKILLing the training process at `--kills` random points (a random epoch plus
a random delay, default threads), resuming each time; every checkpoint, the metrics and the
resume state must equal the unbroken run's bytes. Then analyzes the unbroken variant once, and a
copy of it again while SIGKILLing the analysis at `--kills` random times; every artifact's
arrays must equal the unbroken analysis's (manifest times may differ). After each kill the
files already complete are compared too. Prints a markdown table.

    uv run python benchmarks/reliability_kills.py [--data-dir DIR] [--kills 10] [--cli]

Exits non-zero if anything differs.
"""

from __future__ import annotations

import argparse
import filecmp
import functools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

PRIME, EPOCHS, EVERY = 17, 120, 20
# Prints each finished epoch so that the parent can kill it at a chosen one.
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
                  device="cpu", resume_every_s=0.05,
                  on_progress=lambda p: print(p.epoch, flush=True))
""")
ANALYZE_SCRIPT = textwrap.dedent("""
    import sys
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.workspace import Workspace
    run_analysis(Workspace.open(sys.argv[1]).locate(sys.argv[2]), device="cpu")
""")


@functools.cache
def variant_id() -> str:
    """The id the training script's settings give."""
    from miscope_core.families import get_family
    from miscope_core.variants import VariantSpec

    params, config = get_family("modulo_addition").resolve(
        "tiny",
        params={"prime": PRIME, "train_fraction": 0.4},
        training={"epochs": EPOCHS, "checkpoints": f"every:{EVERY}"},
    )
    return VariantSpec("modulo_addition", params, config).variant_id


def variant_dir(root: Path) -> Path:
    return Path(root) / "results" / "modulo_addition" / variant_id()


def training_files(root: Path) -> list[str]:
    """Files whose bytes must not depend on kills: checkpoints, resume state, metrics
    (not variant.json's times, hidden temps, or the resume.prev backup, whose epoch is timing)."""
    base = variant_dir(root)
    names = [str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()]
    skip = {"variant.json", "checkpoints/resume.prev.safetensors"}
    return sorted(
        n
        for n in names
        if n not in skip and not n.startswith("artifacts") and not Path(n).name.startswith(".")
    )


def same_training_files(reference: Path, other: Path, complete: bool) -> bool:
    """Every training file of `other` equals the reference's; all exist if `complete`.
    Before completion the resume state and metrics are mid-run, so only checkpoints count."""
    names = training_files(other)
    if complete:
        if names != training_files(reference):
            return False
    else:
        names = [n for n in names if n.startswith("checkpoints/epoch_")]
    return all(
        filecmp.cmp(variant_dir(reference) / n, variant_dir(other) / n, shallow=False)
        for n in names
    )


def kill_training_once(root: Path, rng: random.Random) -> None:
    """Start training, SIGKILL it at a random epoch plus a random delay."""
    target = rng.randrange(1, EPOCHS)
    proc = subprocess.Popen(
        [sys.executable, "-c", TRAIN_SCRIPT, str(root)], stdout=subprocess.PIPE, text=True
    )
    for line in proc.stdout:
        if int(line) >= target:
            time.sleep(rng.uniform(0, 0.05))
            break
    proc.kill()
    proc.wait()
    proc.stdout.close()


def run_to_end(command: list[str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {done.stderr[-1500:]}")
    return time.monotonic() - started


def training_case(root: Path, kills: int, rng: random.Random) -> tuple[int, int]:
    """(kill points whose checkpoints so far match, 1 if the finished run matches)."""
    run_to_end([sys.executable, "-c", TRAIN_SCRIPT, str(root / "train-reference")])
    killed, matching = root / "train-killed", 0
    for _ in range(kills):
        kill_training_once(killed, rng)
        matching += same_training_files(root / "train-reference", killed, complete=False)
    run_to_end([sys.executable, "-c", TRAIN_SCRIPT, str(killed)])
    return matching, int(same_training_files(root / "train-reference", killed, complete=True))


def analyze_command(root: Path, cli: bool) -> list[str]:
    if cli:
        return [
            sys.executable,
            "-c",
            "from app.cli.main import main; raise SystemExit(main())",
            "analyze",
            variant_id(),
            "--device",
            "cpu",
            "--data-dir",
            str(root),
        ]
    return [sys.executable, "-c", ANALYZE_SCRIPT, str(root), variant_id()]


def artifact_arrays(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every complete artifact file's arrays, by path under artifacts/."""
    from miscope_core.io import load_npz

    base = variant_dir(root) / "artifacts"
    found = {}
    for path in sorted(base.rglob("*.npz")):
        if not path.name.startswith("."):
            found[str(path.relative_to(base))] = load_npz(path)
    return found


def same_artifacts(reference: dict, other: dict, complete: bool) -> bool:
    """Arrays equal (NaN equal to NaN) for every artifact of `other`; all present if complete."""
    if complete and set(other) != set(reference):
        return False
    for name, arrays in other.items():
        expected = reference.get(name)
        if expected is None or set(expected) != set(arrays):
            return False
        for key, value in arrays.items():
            nan_ok = value.dtype.kind in "fc"
            if not np.array_equal(value, expected[key], equal_nan=nan_ok):
                return False
    return True


def analysis_case(root: Path, kills: int, rng: random.Random, cli: bool) -> tuple[int, int]:
    """(kill points whose artifacts so far match, 1 if the finished analysis matches)."""
    reference, killed = root / "analysis-reference", root / "analysis-killed"
    for target in (reference, killed):
        shutil.copytree(root / "train-reference", target)
    seconds = run_to_end(analyze_command(reference, cli))
    expected, matching = artifact_arrays(reference), 0
    for _ in range(kills):
        # a new process group, so that a job process the CLI starts dies with it
        proc = subprocess.Popen(
            analyze_command(killed, cli),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.2, 0.9) * seconds)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        matching += same_artifacts(expected, artifact_arrays(killed), complete=False)
    run_to_end(analyze_command(killed, cli))
    return matching, int(same_artifacts(expected, artifact_arrays(killed), complete=True))


def main(argv: list[str] | None = None) -> int:
    """Run both cases and print `| case | runs | identical |`; 1 if anything differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, help="where to put the workspaces (default: a temporary folder)"
    )
    parser.add_argument("--kills", type=int, default=10, help="kills per case (default 10)")
    parser.add_argument("--seed", type=int, help="random seed of the kill points")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="analyze through `miscope analyze` instead of the pipeline call",
    )
    args = parser.parse_args(argv)
    if args.kills < 1:
        parser.error(f"--kills must be at least 1, got {args.kills}")
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    if args.data_dir is None:
        with tempfile.TemporaryDirectory(prefix="miscope-kills-") as root:
            return run(Path(root), args.kills, seed, args.cli)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="kills-", dir=args.data_dir))
    return run(root, args.kills, seed, args.cli)


def run(root: Path, kills: int, seed: int, cli: bool) -> int:
    """Both cases in `root`; prints the table."""
    rng = random.Random(seed)
    started = time.monotonic()
    train_points, train_final = training_case(root, kills, rng)
    analysis_points, analysis_final = analysis_case(root, kills, rng, cli)
    rows = [
        (
            f"training: checkpoints after each kill (p={PRIME}, {EPOCHS} epochs)",
            kills,
            train_points,
        ),
        (f"training: finished after {kills} kills vs unbroken (bytes)", 1, train_final),
        ("analysis: artifacts after each kill", kills, analysis_points),
        (f"analysis: finished after {kills} kills vs unbroken (arrays)", 1, analysis_final),
    ]
    print(f"seed={seed} workspace={root} ({time.monotonic() - started:.0f} s)\n")
    print("| case | runs | identical |\n|---|---|---|")
    for case, runs, identical in rows:
        print(f"| {case} | {runs} | {identical}/{runs} |")
    return 0 if all(runs == identical for _, runs, identical in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
