"""Job queue: several trainings launched together vs one after another, through the job runner.

Each scenario trains N fresh variants (p=59, 40% data, seeds 0..N-1) as real job processes
in a fresh temporary workspace:

- sequential:  one job at a time, default thread budget (the yardstick);
- queued:      all launched at once with the default budget and slot count (this design);
- unlimited:   all launched at once, every job using every core, no slot limit (before).

    uv run python benchmarks/bench_job_queue.py [--epochs 1500] [--jobs 2]

Prints the wall time of each scenario and each job's seconds from start to finish (model
build and training; queue waiting excluded), and `together_vs_sequential=<queued wall /
sequential wall>` (≤ 1 means launching together never made the batch slower).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager

from miscope_core.workspace import Workspace
from services.jobs import JobStore
from services.launch import launch_training, validate_training_request
from services.runner import spawn_job
from services.slots import SLOTS_ENV, THREADS_ENV, job_slots, job_threads, usable_cores


@contextmanager
def environment(**values: str | None):
    """Set (or, with None, unset) environment variables for the block."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def run_jobs(epochs: int, n_jobs: int, together: bool) -> tuple[float, list[float]]:
    """Train n_jobs variants; return (wall seconds, per-job seconds from start to finish)."""
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as root:
        workspace = Workspace.open(root)
        store = JobStore(workspace.jobs_db)
        jobs = [
            launch_training(
                workspace,
                validate_training_request(
                    "modulo_addition",
                    "quick",
                    {"seed": seed, "data_seed": seed},
                    {"epochs": epochs, "checkpoints": f"every:{epochs}"},
                ),
                start=False,
            )
            for seed in range(n_jobs)
        ]
        started = time.perf_counter()
        if together:
            for process in [spawn_job(job.id, root) for job in jobs]:
                process.wait()
        else:
            for job in jobs:
                spawn_job(job.id, root).wait()
        wall = time.perf_counter() - started
        records = [store.get(job.id) for job in jobs]
        failed = [r for r in records if r.status != "done"]
        if failed:
            raise SystemExit(f"job {failed[0].id} ended {failed[0].status}: {failed[0].error}")
        return wall, [r.finished - r.started for r in records]


def main() -> None:
    """Run the three scenarios and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    cores = usable_cores()
    print(
        f"{cores} usable cores; default budget {job_threads()} thread(s)/job, "
        f"{job_slots()} slot(s); {args.jobs} jobs x {args.epochs} epochs (p=59, 40% data); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    scenarios = {
        "sequential": ({}, False),
        "queued": ({}, True),
        "unlimited": ({THREADS_ENV: str(cores), SLOTS_ENV: str(args.jobs)}, True),
    }
    walls = {}
    for name, (env, together) in scenarios.items():
        with environment(**env):
            wall, per_job = run_jobs(args.epochs, args.jobs, together)
        walls[name] = wall
        print(
            f"{name:>10}: wall {wall:6.1f} s; per job " + ", ".join(f"{s:.1f} s" for s in per_job),
            flush=True,
        )
    print(
        f"together_vs_sequential={walls['queued'] / walls['sequential']:.2f} "
        f"unlimited_vs_sequential={walls['unlimited'] / walls['sequential']:.2f}"
    )


if __name__ == "__main__":
    main()
