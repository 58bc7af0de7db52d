"""`python -m services.job_process JOB_ID DATA_DIR`: run one job record in this process."""

from __future__ import annotations

import sys

from services.runner import run_job


def main(argv: list[str] | None = None) -> int:
    """Run the job named on the command line; exit 0 when it finished as done."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m services.job_process JOB_ID DATA_DIR", file=sys.stderr)
        return 2
    return 0 if run_job(args[0], args[1]) == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
