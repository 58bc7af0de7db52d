"""The reliability battery: every section in one run, printed as the table in docs/reliability.md.

Sections (each a script in this folder, runnable alone):

- ``reliability_kills.py``   kills during training and analysis (default threads) → identical
- ``reliability_damage.py``  every file kind × every damage → the required outcome
- ``reliability_inputs.py``  hypothesis-generated service inputs → clear errors, nothing outside
- ``bench_explore_load.py``  loopback clients on Explore → errors, p50/p95, cold panel

    uv run python benchmarks/bench_reliability.py [--quick] [--only kills,damage]

``--quick`` shrinks every section (fewer kills, inputs and seconds) for a smoke run; the table in
docs/reliability.md comes from a full run. Exits non-zero if any section fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, full-run arguments, quick-run arguments)
SECTIONS: dict[str, tuple[str, list[str], list[str]]] = {
    "kills": ("reliability_kills.py", ["--kills", "10"], ["--kills", "3"]),
    "damage": ("reliability_damage.py", ["--cli"], []),
    "inputs": ("reliability_inputs.py", ["--examples", "1000"], ["--examples", "100"]),
    "explore": (
        "bench_explore_load.py",
        ["--clients", "8", "--seconds", "60"],
        ["--clients", "4", "--seconds", "10"],
    ),
}


def run_section(name: str, quick: bool, data_root: Path) -> tuple[int, float, str]:
    """Run one section's script in its own process; return (exit code, seconds, its output)."""
    script, full_args, quick_args = SECTIONS[name]
    data_dir = data_root / name
    command = [sys.executable, str(HERE / script), "--data-dir", str(data_dir)]
    command += quick_args if quick else full_args
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    output = done.stdout if done.returncode == 0 else done.stdout + done.stderr[-4000:]
    return done.returncode, time.perf_counter() - start, output


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print each one's table; non-zero exit if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shortened smoke run")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {list(SECTIONS)}"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; valid: {list(SECTIONS)}")

    failed = []
    with tempfile.TemporaryDirectory(prefix="miscope-reliability-") as root:
        for name in chosen:
            code, seconds, output = run_section(name, args.quick, Path(root))
            print(f"## {name} ({seconds:.0f} s{', FAILED' if code else ''})\n")
            print(output.rstrip() + "\n")
            if code:
                failed.append(name)
    print(f"reliability_sections_failed={len(failed)} {failed if failed else ''}".rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
