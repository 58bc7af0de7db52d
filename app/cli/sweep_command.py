"""`miscope sweep`: train a grid of variants x a seed range, one job per variant.

    miscope sweep modulo_addition --grid prime=53,59 --grid train_fraction=0.3,0.4 \\
        --seeds 0-7 --preset quick --analyze

The sweep is a durable record (<data-dir>/sweeps/<id>.json); running the same command again
resumes what is missing. Ctrl-C cancels the sweep (every variant keeps its checkpoints).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers, data_dir_parent: argparse.ArgumentParser | None = None):
    """Register the `sweep` subcommand."""
    parents = [data_dir_parent] if data_dir_parent is not None else []
    parser = subparsers.add_parser(
        "sweep",
        parents=parents,
        help="train a grid of parameters x a seed range (one job per variant)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("family")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="a domain parameter and its values (repeat for more parameters)",
    )
    parser.add_argument(
        "--seeds", default=None, help="seed range or list, e.g. 0-7 or 1,4,9 (sets every *seed)"
    )
    parser.add_argument("--preset", help="named preset (see `miscope families`)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--checkpoints", help="'default', 'every:N' or a comma list of epochs")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="training override")
    parser.add_argument("--analyze", action="store_true", help="analyze every variant too")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the variants and the estimate only"
    )
    parser.add_argument("--job-slots", type=int, default=None, metavar="N")
    parser.set_defaults(func=cmd_sweep)
    return parser


def cmd_sweep(args) -> int:
    """Plan, record and run a sweep in the foreground; exit 0 when every variant is done."""
    from app.cli.main import _apply_job_slots, parse_assignments
    from services.sweeps import (
        cancel_sweep,
        describe_estimate,
        launch_sweep,
        plan_sweep,
        run_sweep,
    )
    from services.training_cli import CancelOnInterrupt
    from services.workspace import Workspace

    _apply_job_slots(args)
    overrides = parse_assignments(args.set, "--set")
    for name in ("epochs", "checkpoints"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    plan = plan_sweep(args.family, args.grid, args.seeds, args.preset, overrides, args.analyze)
    print(
        f"Sweep {plan.sweep_id}: {len(plan.variant_ids)} variants, estimated "
        f"{describe_estimate(plan.estimate_s)} with {plan.slots} job(s) at once"
    )
    if args.dry_run:
        print("\n".join(f"  {v}" for v in plan.variant_ids))
        return 0
    workspace = Workspace.open(args.data_dir)
    launch_sweep(workspace, plan, analyze=args.analyze, start=False)
    printer = _ProgressPrinter()
    note = "Cancelling the sweep (Ctrl-C again to stop waiting)"
    with CancelOnInterrupt(lambda: cancel_sweep(workspace, plan.sweep_id), note):
        final = run_sweep(workspace, plan.sweep_id, on_update=printer)
    return _summarize(final)


class _ProgressPrinter:
    """One line whenever the per-status counts change."""

    def __init__(self):
        self.last = None

    def __call__(self, progress) -> None:
        counts = progress["counts"]
        line = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if line != self.last:
            print(f"{100 * progress['progress']:5.1f}% {line}", flush=True)
            self.last = line


def _summarize(progress) -> int:
    for row in progress["variants"]:
        if row["status"] != "done":
            print(f"  {row['status']}: {row['variant']} {row['message']}".rstrip())
    if set(progress["counts"]) <= {"done"}:
        print(f"done: {len(progress['variants'])} variants; see them on the Compare page")
        return 0
    print("Run the same command again to resume what is missing.")
    return 130 if progress["cancelled"] else 1
