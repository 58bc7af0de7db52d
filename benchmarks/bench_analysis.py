"""Benchmark the default analyzer battery on the quick preset (p=59, >= 50 checkpoints).

    uv run python benchmarks/bench_analysis.py [--data-dir DIR] [--device cpu] [--limit N]

Reuses the quick variant in the workspace at --data-dir (default: a fresh temporary directory)
or trains it there. The battery runs on a scratch copy of the variant (checkpoints linked, not
copied), so existing artifacts are never touched. Prints, per analyzer, seconds and bytes per
checkpoint; peak RSS; and analysis_cost_ratio = battery seconds per checkpoint / one forward
pass with cache over the probe. Goals: <= 2 MB per checkpoint, ratio <= 20.
Then, unless --no-llc, runs landscape.llc (opt-in, not in the default battery) on the same
copy and prints the battery's cost with and without it and llc_to_battery_ratio = LLC seconds
/ battery seconds (goal, issue 14: <= 3 on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

FAMILY = "modulo_addition"
PRESET = "quick"


def quick_variant(workspace, device: str):
    """The quick preset's variant in this workspace, trained if missing."""
    from miscope_core.families import get_family
    from miscope_core.training.checkpoints import list_checkpoint_epochs
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec

    params, config = get_family(FAMILY).resolve(PRESET)
    spec = VariantSpec(FAMILY, params, config)
    paths = workspace.variant_paths(FAMILY, spec.variant_id)
    if len(list_checkpoint_epochs(paths.checkpoints)) < 50:
        print(f"training {spec.variant_id} (quick preset) ...", flush=True)
        paths = train_variant(spec, workspace, device=device).paths
    return paths


def scratch_copy(paths, limit: int | None) -> Path:
    """A temporary variant root with the same record, metrics and (linked) checkpoints."""
    from miscope_core.training.checkpoints import checkpoint_path, list_checkpoint_epochs

    root = Path(tempfile.mkdtemp(prefix="miscope-bench-")) / paths.root.name
    (root / "checkpoints").mkdir(parents=True)
    for name in ("variant.json", "metrics.npz"):
        shutil.copy(paths.root / name, root / name)
    epochs = list_checkpoint_epochs(paths.checkpoints)
    if limit:
        epochs = epochs[:: max(1, len(epochs) // limit)][:limit]
    for epoch in epochs:
        source = checkpoint_path(paths.checkpoints, epoch)
        os.symlink(source.resolve(), root / "checkpoints" / source.name)
    return root


def time_analyzers() -> dict[str, float]:
    """Wrap every registered analyzer's compute to accumulate its seconds."""
    from miscope_core.analysis import registry

    registry.load_builtin_analyzers()
    seconds: dict[str, float] = defaultdict(float)

    def timed(name, compute):
        @functools.wraps(compute)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return compute(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - started

        return wrapper

    for name, spec in list(registry.ANALYZERS.items()):
        registry.ANALYZERS[name] = replace(spec, compute=timed(name, spec.compute))
    return seconds


def forward_with_cache_seconds(paths, device: str, repeats: int = 7) -> float:
    """Fastest of several bridge forward passes with a full cache over the probe (the fastest
    is the least disturbed by other load, so the ratio errs on the high side)."""
    import torch

    from miscope_core.families import get_family
    from miscope_core.io import read_json
    from miscope_core.models.bridge import load_bridge
    from miscope_core.training.checkpoints import list_checkpoint_epochs, load_checkpoint

    record = read_json(paths.variant_json)
    family = get_family(record["family"])
    cfg = family.model_config(record["params"])
    state = load_checkpoint(paths.checkpoints, list_checkpoint_epochs(paths.checkpoints)[-1])
    bridge = load_bridge(cfg, state, device=device)
    tokens = torch.from_numpy(family.build_probe(record["params"]).tokens).to(device)
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            started = time.perf_counter()
            bridge.run_with_cache(tokens)
            times.append(time.perf_counter() - started)
    return min(times[1:])


def artifact_bytes(artifacts: Path) -> dict[str, tuple[int, int]]:
    """Per analyzer: (bytes of per-epoch files, bytes of summary + cross-epoch files)."""
    sizes = {}
    for folder in sorted(p for p in artifacts.iterdir() if p.is_dir()):
        per_epoch = sum(f.stat().st_size for f in folder.glob("epoch_*.npz"))
        derived = sum(f.stat().st_size for f in folder.glob("*.npz")) - per_epoch
        sizes[folder.name] = (per_epoch, derived)
    return sizes


def report_llc_cost(scratch, device: str, battery: float, n_checkpoints: int) -> None:
    """Run landscape.llc (default parameters) after the battery; print both costs and the ratio."""
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.analysis.registry import get_analyzer

    started = time.perf_counter()
    report = run_analysis(scratch, analyzers=["landscape.llc"], device=device)
    llc = time.perf_counter() - started
    params = get_analyzer("landscape.llc").resolve_params()
    print(f"llc_status={report.status} llc_params={params}")
    print(f"battery_without_llc_seconds_per_checkpoint={battery / n_checkpoints:.4f}")
    print(f"llc_seconds_per_checkpoint={llc / n_checkpoints:.4f}")
    print(f"battery_with_llc_seconds_per_checkpoint={(battery + llc) / n_checkpoints:.4f}")
    print(f"llc_to_battery_ratio={llc / battery:.2f} (goal <= 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="workspace holding (or receiving) the quick variant",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="analyze only this many evenly spaced checkpoints (>= 50 for the goal)",
    )
    parser.add_argument(
        "--no-llc", action="store_true", help="skip the landscape.llc cost measurement"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch copy with its artifacts (its path is printed)",
    )
    args = parser.parse_args()

    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.variants import VariantPaths
    from miscope_core.workspace import Workspace

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="miscope-bench-ws-"))
    paths = quick_variant(Workspace.open(data_dir), args.device)
    scratch = VariantPaths(scratch_copy(paths, args.limit))
    n_checkpoints = len(list(scratch.checkpoints.iterdir()))
    forward = forward_with_cache_seconds(scratch, args.device)
    seconds = time_analyzers()
    started = time.perf_counter()
    stage_rss: dict[str, float] = {}

    def note_stage(progress) -> None:
        if progress.stage == "cross_epoch" and "per_epoch" not in stage_rss:
            stage_rss["per_epoch"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    report = run_analysis(scratch, device=args.device, on_progress=note_stage)
    total = time.perf_counter() - started
    sizes = artifact_bytes(scratch.artifacts)

    print(
        f"variant={paths.root.name} checkpoints={n_checkpoints} device={args.device} "
        f"status={report.status} skipped={report.skipped}"
    )
    print(f"{'analyzer':40s} {'s/ckpt':>8s} {'KB/ckpt':>9s} {'derived KB':>11s}")
    for name in sorted(set(seconds) & set(sizes)):
        per_epoch, derived = sizes.get(name, (0, 0))
        print(
            f"{name:40s} {seconds[name] / n_checkpoints:8.4f} "
            f"{per_epoch / n_checkpoints / 1024:9.1f} {derived / 1024:11.1f}"
        )
    analyzer_seconds = sum(seconds[name] for name in sizes if name in seconds)
    overhead = total - analyzer_seconds
    total_bytes = sum(a + b for a, b in sizes.values())
    per_checkpoint_bytes = total_bytes / n_checkpoints
    print(f"{'pipeline (load, forward, save, manifest)':40s} {overhead / n_checkpoints:8.4f}")
    print(f"forward_with_cache_seconds={forward:.4f}")
    print(f"battery_seconds_per_checkpoint={total / n_checkpoints:.4f}")
    print(
        f"bytes_per_checkpoint={per_checkpoint_bytes:.0f} "
        f"({per_checkpoint_bytes / 2**20:.3f} MiB, all tiers included)"
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"peak_rss_mb={peak_kb / 1024:.1f} (after the per-epoch tier: "
        f"{stage_rss.get('per_epoch', float('nan')):.1f})"
    )
    print(f"analysis_cost_ratio={total / n_checkpoints / forward:.2f}")
    if not args.no_llc:
        report_llc_cost(scratch, args.device, total, n_checkpoints)
    if args.keep:
        print(f"artifacts_kept={scratch.artifacts}")
    else:
        shutil.rmtree(scratch.root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
