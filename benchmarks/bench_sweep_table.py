"""Sweep table and ensemble cost: 48 variants vs 6, from summary-tier files only.

Trains (once, reused with --data-dir) a 3 primes x 2 train fractions x 8 seeds sweep of the
tiny preset (20 epochs) in this process, then times the Compare page's two sweep pieces:

- sweep_table:   one row per variant (settings, phases.detect_phases on metrics.npz, outcome);
- ensemble:      the loss-curve ensemble figure (median + IQR per grid cell).

    uv run python benchmarks/bench_sweep_table.py [--data-dir DIR] [--repeats 5]

Prints the median seconds of each at 6 and at 48 variants and `per_variant_ratio=<48-variant
seconds per variant / 6-variant seconds per variant>` (about 1 means the cost is linear in the
variants, nothing quadratic), plus the table's JSON size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from functools import partial

from miscope_core.sweeps import SweepSpec, save_sweep
from miscope_core.workspace import Workspace
from services.compare import ensemble_figure, sweep_table

GRID = {"prime": [7, 11, 13], "train_fraction": [0.5, 0.7]}
TRAINING = {"epochs": 20, "checkpoints": "0,10,20"}


def prepare(root: str, seeds: int) -> tuple[Workspace, SweepSpec]:
    """Train what is missing of the sweep (in process) and record it."""
    from miscope_core.training.trainer import train_variant

    workspace = Workspace.open(root)
    spec = SweepSpec.build("modulo_addition", GRID, list(range(seeds)), "tiny", TRAINING)
    for variant in spec.variant_specs():
        if not workspace.variant_paths(spec.family, variant.variant_id).metrics.exists():
            train_variant(variant, workspace, device="cpu")
    save_sweep(workspace, spec)
    return workspace, spec


def timed(function, repeats: int) -> float:
    """Median wall seconds of `function()` over `repeats` runs (after one warm-up)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Time the table and the ensemble at 6 and 48 variants; print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = args.data_dir or tempfile.mkdtemp(prefix="bench_sweep_")
    results = {}
    for seeds in (1, 8):  # 6 and 48 variants
        workspace, spec = prepare(root, seeds)
        ids = [v.variant_id for v in spec.variant_specs()]
        table = timed(partial(sweep_table, workspace, spec.sweep_id), args.repeats)
        figure = timed(
            partial(ensemble_figure, workspace, ids, "training.loss_curves", "epoch"),
            args.repeats,
        )
        size = len(json.dumps(sweep_table(workspace, spec.sweep_id)))
        results[len(ids)] = (table, figure)
        print(
            f"variants={len(ids)} sweep_table_s={table:.3f} ensemble_s={figure:.3f} "
            f"table_json_bytes={size}"
        )
    (small, (t_small, f_small)), (large, (t_large, f_large)) = sorted(results.items())
    print(f"per_variant_ratio_table={(t_large / large) / (t_small / small):.2f}")
    print(f"per_variant_ratio_ensemble={(f_large / large) / (f_small / small):.2f}")


if __name__ == "__main__":
    main()
