"""The damaged-file matrix as a table: every file kind x every damage -> the outcome.

Trains and analyzes a small variant (p=11, 20 epochs) in a fresh workspace, then for each case
copies it, damages one file (truncated, zero-filled or random bytes at the same size, non-UTF-8)
and checks the required outcome (tests/reliability/damage_matrix.py). Prints a markdown table.

    uv run python benchmarks/reliability_damage.py [--data-dir DIR] [--cli]

Exits non-zero if any case has the wrong outcome.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and print `| file kind | damage | outcome |` rows; 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where to put the workspaces (default: a temporary folder, removed afterwards)",
    )
    parser.add_argument(
        "--cli",
        action="store_true",
        help="also run `miscope analyze` for the truncated cases (each starts a job process)",
    )
    args = parser.parse_args(argv)
    if args.data_dir is None:
        with tempfile.TemporaryDirectory(prefix="miscope-damage-") as root:
            return run_matrix(Path(root), args.cli)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    return run_matrix(args.data_dir, args.cli)


def run_matrix(root: Path, cli: bool) -> int:
    """Build the base workspace under `root`, run every case, print the table."""
    sys.path.insert(0, str(ROOT))
    from app.server import create_app
    from tests.reliability.damage_matrix import DAMAGES, KINDS, build_base, run_case

    started = time.perf_counter()
    base = build_base(root / "base")
    app = create_app(base)
    print(f"Base variant trained and analyzed in {time.perf_counter() - started:.0f} s\n")
    print("| file kind | damage | outcome |\n|---|---|---|")
    failures = 0
    for kind_index, kind in enumerate(KINDS):
        for damage in DAMAGES:
            work = root / f"case_{kind_index:02d}_{damage}"
            try:
                outcome = run_case(base, work, kind, damage, app, cli=cli and damage == "truncated")
            except Exception as exc:  # a wrong outcome is a row of the table, not a crash
                failures += 1
                outcome = f"**FAILED**: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            print(f"| {kind} | {damage.replace('_', ' ')} | {outcome} |", flush=True)
    total = len(KINDS) * len(DAMAGES)
    print(
        f"\n{total - failures}/{total} cases with the required outcome "
        f"({time.perf_counter() - started:.0f} s in all)"
    )
    print(f"damage_cases={total} damage_failures={failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
