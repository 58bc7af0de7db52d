"""`python -m services.sweep_process SWEEP_ID DATA_DIR`: schedule one sweep's variants."""

from __future__ import annotations

import sys

from miscope_core.workspace import Workspace
from services.jobs import JobConflictError
from services.sweeps import run_sweep


def main(argv: list[str] | None = None) -> int:
    """Run the sweep's scheduler until nothing is left; 0 when every variant is done."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m services.sweep_process SWEEP_ID DATA_DIR", file=sys.stderr)
        return 2
    try:
        progress = run_sweep(Workspace.open(args[1]), args[0])
    except JobConflictError as exc:  # another scheduler has it: nothing to do here
        print(exc, file=sys.stderr)
        return 0
    return 0 if set(progress["counts"]) <= {"done"} else 1


if __name__ == "__main__":
    sys.exit(main())
