"""Many seeds in one process vs the same seeds trained one after another.

Both sides train K seeds of one configuration to the same epoch with the same checkpoint
schedule, metrics and resume saves, on the same device and thread budget:

- sequential: `train_variant` once per seed, in this process (imports paid once), and with
  --processes also `miscope train` once per seed in a fresh process each (what a user who
  launches runs one by one pays, start-up included);
- together: one `train_seeds_together` call.

    uv run python benchmarks/bench_multiseed.py [--seeds 16] [--prime 23] [--epochs 300]
        [--threads 2] [--device cpu] [--processes]

Prints the seconds of each side, the load average around the run (the machine may be shared)
and `multiseed_throughput_ratio=<sequential s / together s>` (and
`multiseed_vs_processes_ratio=` with --processes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def spec_for(prime: int, epochs: int, fraction: float):
    """The tiny preset at `prime` trained for `epochs`, a checkpoint every tenth of the run."""
    from miscope_core.specs import resolve_variant_spec

    return resolve_variant_spec(
        "modulo_addition",
        "tiny",
        params={"prime": prime, "train_fraction": fraction},
        epochs=epochs,
        checkpoints=f"every:{max(1, epochs // 10)}",
    )


def sequential_s(spec, seeds, root: Path, device: str, threads: int) -> float:
    """Seconds to train each seed alone, one after another, in this process."""
    from miscope_core.specs import seed_specs
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(root)
    start = time.perf_counter()
    for member in seed_specs(spec, seeds):
        train_variant(member, workspace, device, threads=threads)
    return time.perf_counter() - start


def processes_s(args, seeds, root: Path) -> float:
    """Seconds to run `miscope train` once per seed, each in a fresh process."""
    start = time.perf_counter()
    for seed in seeds:
        command = [sys.executable, "-m", "app.cli.main", "train", "modulo_addition"]
        command += ["--preset", "tiny", "--data-dir", str(root), "--device", args.device]
        command += ["--param", f"prime={args.prime}", "--param", f"seed={seed}"]
        command += ["--param", f"train_fraction={args.fraction}", "--epochs", str(args.epochs)]
        command += ["--checkpoints", f"every:{max(1, args.epochs // 10)}"]
        env = {**os.environ, "MISCOPE_THREADS": str(args.threads)}
        subprocess.run(command, check=True, env=env, capture_output=True, cwd=_repo())
    return time.perf_counter() - start


def together_s(spec, seeds, root: Path, device: str, threads: int) -> float:
    """Seconds to train every seed in one vectorised run."""
    from miscope_core.training.multiseed import train_seeds_together
    from miscope_core.workspace import Workspace

    start = time.perf_counter()
    train_seeds_together(spec, seeds, Workspace.open(root), device, threads=threads)
    return time.perf_counter() - start


def _repo() -> Path:
    return Path(__file__).resolve().parents[1]


def main() -> None:
    """Run both sides once each and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--prime", type=int, default=23)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--processes", action="store_true", help="also time one process per seed")
    args = parser.parse_args()
    sys.path.insert(0, str(_repo()))
    import transformer_lens.model_bridge  # noqa: F401 - imports paid before any timing

    spec = spec_for(args.prime, args.epochs, args.fraction)
    seeds = list(range(args.seeds))
    print(
        f"{args.seeds} seeds, p={args.prime}, {args.epochs} epochs, {args.threads} threads, "
        f"{args.device}; load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as tmp:
        together = together_s(spec, seeds, Path(tmp) / "together", args.device, args.threads)
        rate = args.seeds * args.epochs / together
        print(f"together:   {together:7.1f} s ({rate:.0f} seed-epochs/s)")
        alone = sequential_s(spec, seeds, Path(tmp) / "alone", args.device, args.threads)
        print(f"sequential: {alone:7.1f} s ({args.seeds * args.epochs / alone:.0f} seed-epochs/s)")
        if args.processes:
            separate = processes_s(args, seeds, Path(tmp) / "processes")
            print(f"processes:  {separate:7.1f} s (one `miscope train` per seed)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"multiseed_throughput_ratio={alone / together:.2f}")
    if args.processes:
        print(f"multiseed_vs_processes_ratio={separate / together:.2f}")


if __name__ == "__main__":
    main()
