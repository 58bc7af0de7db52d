"""The GPU path: canonical-preset training speed, seed-group throughput, member-vs-solo gap.

    uv run python benchmarks/bench_gpu.py [--device auto|cuda|cpu] [--seeds 64] [--epochs N]

On a CUDA GPU it trains the canonical preset (p=113, 30% data) and times, per epoch, one seed
alone against `--seeds` seeds trained together (the goal: 64 seeds in at most 2x the time of
one). Without a GPU it says so and runs the same measurements on CPU on the tiny preset at
p=23 with 8 seeds, so the script itself is checked anywhere. Training is float32 throughout
(no autocast, TF32 off: torch's default), the loss in float64, deterministic algorithms on.

Prints `canonical_epochs_per_s=`, `seeds_time_ratio=` (K seeds / 1 seed, per epoch),
`seeds_throughput_ratio=` (K x that), and `member_vs_solo_max_abs_diff=` (the largest weight
difference between a group member and the same seed trained alone, after the timed epochs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def timed(train, *args, **kwargs) -> tuple[list, float]:
    """Run a trainer; return its result and the seconds per epoch after epoch 0 (set-up and
    the first step's warm-up excluded)."""
    marks = []
    result = train(*args, on_progress=lambda p: marks.append(time.perf_counter()), **kwargs)
    return result, (marks[-1] - marks[1]) / max(1, len(marks) - 2)


def largest_difference(a_dir: Path, b_dir: Path, epoch: int) -> float:
    """The largest absolute difference between two checkpoints' tensors."""
    from miscope_core.training.checkpoints import load_checkpoint

    a, b = load_checkpoint(a_dir, epoch), load_checkpoint(b_dir, epoch)
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import torch

    from miscope_core.models.bridge import resolve_device
    from miscope_core.specs import resolve_variant_spec, seed_specs
    from miscope_core.training.multiseed import train_seeds_together
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    device = resolve_device(args.device)
    on_gpu = device.startswith("cuda")
    if on_gpu:
        print(f"GPU: {torch.cuda.get_device_name(device)}; torch {torch.__version__}")
        preset, params, seeds, epochs = "canonical", {}, args.seeds or 64, args.epochs or 300
    else:
        print("No CUDA GPU here: running the same measurements on CPU (tiny preset, p=23)")
        preset, params, seeds, epochs = "tiny", {"prime": 23}, args.seeds or 8, args.epochs or 40
    print(f"TF32 matmul allowed: {torch.backends.cuda.matmul.allow_tf32} (float32 training)")
    spec = resolve_variant_spec(
        "modulo_addition", preset, params, epochs=epochs, checkpoints=f"every:{epochs}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        _, solo_s = timed(train_variant, spec, Workspace.open(Path(tmp) / "one"), device)
        group, group_s = timed(
            train_seeds_together,
            spec,
            list(range(seeds)),
            Workspace.open(Path(tmp) / "group"),
            device,
        )
        twin = seed_specs(spec, [0])[0]
        solo_twin = train_variant(twin, Workspace.open(Path(tmp) / "twin"), device)
        gap = largest_difference(group[0].paths.checkpoints, solo_twin.paths.checkpoints, epochs)
    print(f"{preset} preset ({spec.variant_id}), {epochs} epochs on {device}")
    print(f"one seed: {solo_s * 1e3:.1f} ms/epoch; {seeds} seeds together: {group_s * 1e3:.1f}")
    print(
        f"canonical_epochs_per_s={1 / solo_s:.1f}" if on_gpu else f"epochs_per_s={1 / solo_s:.1f}"
    )
    print(f"seeds_time_ratio={group_s / solo_s:.2f}  (goal on a GPU: <= 2 for 64 seeds)")
    print(f"seeds_throughput_ratio={seeds * solo_s / group_s:.1f}")
    print(f"member_vs_solo_max_abs_diff={gap:.3g}")


if __name__ == "__main__":
    main()
