"""`miscope densify`: re-train a window of epochs and save checkpoints densely inside it."""

from __future__ import annotations


def add_parser(sub, data_dir_parent) -> None:
    """Register the densify subcommand."""
    p = sub.add_parser(
        "densify",
        parents=[data_dir_parent],
        help="re-train an epoch window from the nearest resume point, saving dense checkpoints",
        description="Re-train epochs FROM..TO of a trained variant from the nearest exact "
        "resume point and save a checkpoint every EVERY epochs, byte-identical to what a "
        "denser schedule would have saved; then analyze the new checkpoints with the "
        "analyzers the variant already has. Runs as a job (listed on the Jobs page).",
    )
    p.add_argument("variant")
    p.add_argument("--from", dest="start", required=True, type=int, metavar="EPOCH")
    p.add_argument("--to", dest="stop", required=True, type=int, metavar="EPOCH")
    p.add_argument("--every", type=int, default=1, metavar="N", help="spacing (default 1)")
    p.add_argument("--no-analyze", action="store_true", help="only write the checkpoints")
    p.add_argument("--dry-run", action="store_true", help="print the plan and its cost only")
    p.set_defaults(func=_run_densify)


def _run_densify(args) -> int:
    from services.densify import launch_densify, plan_densify_request, resume_points
    from services.training_cli import follow_job
    from services.workspace import Workspace

    workspace = Workspace.open(args.data_dir)
    plan = plan_densify_request(workspace, args.variant, args.start, args.stop, args.every)
    print(resume_points(workspace, args.variant).summary)
    print(
        f"{len(plan.new_epochs)} new checkpoints in {plan.start}..{plan.stop} every "
        f"{plan.every}; replays {plan.replay_epochs} epochs from epoch {plan.replay_from}"
    )
    if args.dry_run:
        return 0
    job = launch_densify(
        workspace,
        args.variant,
        args.start,
        args.stop,
        args.every,
        analyze=not args.no_analyze,
        start_job=False,
    )
    return follow_job(workspace, job.id)
