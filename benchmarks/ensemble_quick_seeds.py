"""The 8-seed ensemble figure of docs/sweeps.md: quick preset, seeds 0-7 (seed = data seed).

Trains whatever is missing through `miscope sweep modulo_addition --seeds 0-7 --preset quick`
(a few minutes per seed on a CPU; rerunning resumes), prints each seed's memorization and
grokking epochs with their median and interquartile range, and exports the accuracy-curve
ensemble to docs/figures/ensemble_quick_8_seeds.png, aligned by grokking when a seed groks
within the run, else by epoch.

    uv run python benchmarks/ensemble_quick_seeds.py [--data-dir DIR] [--output PNG]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["sweep", "modulo_addition", "--seeds", "0-7", "--preset", "quick"]


def main() -> int:
    """Train (or resume) the sweep, export the figure, print the event epochs."""
    from miscope_core import compare, load_variant
    from miscope_core.ensemble import get_alignment

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--output", default=str(ROOT / "docs/figures/ensemble_quick_8_seeds.png"))
    args = parser.parse_args()
    command = [sys.executable, "-m", "app.cli.main", *SWEEP, "--data-dir", args.data_dir]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        return 1
    seeds = [
        load_variant(
            "modulo_addition", args.data_dir, prime=59, seed=s, data_seed=s, train_fraction=0.4
        )
        for s in range(8)
    ]
    events = {}
    for name in ("memorization", "grokking"):
        event = get_alignment(name)
        events[name] = [event.locate(v.source) for v in seeds]
        q25, median, q75 = np.nanpercentile(events[name], [25, 50, 75])
        print(f"{name}: {[int(e) if e == e else None for e in events[name]]}")
        print(f"{name}_median={median:.0f} iqr={q25:.0f}-{q75:.0f}")
    # Aligned by grokking when some seed groks within the run, else by epoch (the spread of
    # the test-accuracy climb across seeds is then the finding).
    align = "grokking" if any(e == e for e in events["grokking"]) else "epoch"
    ensemble = compare(seeds).ensemble("accuracy_curves", align=align)
    print(f"wrote {ensemble.export('png', args.output)} (aligned by {align})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
