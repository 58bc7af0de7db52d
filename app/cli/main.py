"""The `miscope` command line: subcommands mirror the services (train, analyze, serve, ...)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from services.jobs import JobConflictError
from services.workspace import CorruptFileError, ValidationError

USAGE_ERRORS = (ValidationError, KeyError, ValueError)


class UsageError(Exception):
    """Bad command-line input; reported without a traceback and exit code 2."""


def parse_assignments(items: Sequence[str] | None, what: str) -> dict[str, str]:
    """['k=v', ...] -> {'k': 'v'}; a malformed item names itself and the expected form."""
    result = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{what} '{item}' is not of the form name=value")
        result[key.strip()] = value.strip()
    return result


def cmd_families(args) -> int:
    """List registered families with their parameters and presets."""
    from services.registry import describe_families

    described = describe_families()
    if args.json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    for fam in described:
        print(f"{fam['name']}: {fam['description']}")
        for param in fam["parameters"]:
            print(
                f"  --param {param['name']}=<{param['type']}>  (default {param['default']}) "
                f"{param['description']}"
            )
        for name, preset in fam["presets"].items():
            print(f"  --preset {name}: {preset['description']}")
    return 0


def cmd_variants(args) -> int:
    """List the variants in the workspace with their training state."""
    from services.workspace import Workspace

    workspace = Workspace.open(args.data_dir)
    rows = []
    for family, variant_id in workspace.list_variants(args.family):
        try:
            record = workspace.read_variant_record(workspace.variant_paths(family, variant_id))
            epochs = record["training"]["epochs"]
        except (CorruptFileError, KeyError, TypeError) as exc:  # one damaged variant: say so
            rows.append((family, variant_id, "damaged", str(exc)))
            continue
        rows.append(
            (
                family,
                variant_id,
                record.get("status", "?"),
                f"{record.get('epochs_completed', 0)}/{epochs}",
            )
        )
    if not rows:
        print(f"No variants in {workspace.root}; train one with `miscope train modulo_addition`")
    for row in rows:
        print("  ".join(row))
    return 0


def cmd_train(args) -> int:
    """Train (or resume, or extend) a variant, as a job in the foreground."""
    from services.training_cli import run_training_command

    _apply_job_slots(args)
    return run_training_command(
        args, parse_assignments(args.param, "--param"), parse_assignments(args.set, "--set")
    )


def cmd_analyze(args) -> int:
    """Run the analysis pipeline over a variant's checkpoints, as a job in the foreground."""
    from services.training_cli import run_analysis_command

    _apply_job_slots(args)
    return run_analysis_command(args, parse_assignments(args.param, "--param"))


def _add_job_slots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--job-slots",
        type=int,
        default=None,
        metavar="N",
        help="jobs that may compute at once on this machine (default: "
        "$MISCOPE_JOB_SLOTS or cores // $MISCOPE_THREADS); the job waits "
        "in line for a free slot",
    )


def _apply_job_slots(args) -> None:
    slots = getattr(args, "job_slots", None)
    if slots is None:
        return
    if slots < 1:
        raise UsageError(f"--job-slots must be a positive integer, got {slots}")
    os.environ["MISCOPE_JOB_SLOTS"] = str(slots)  # read by the job process it starts


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="miscope", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        help="workspace directory (default: $MISCOPE_DATA_DIR or data/ in the checkout)",
    )

    p = sub.add_parser("families", help="list model families")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_families)

    p = sub.add_parser("variants", parents=[data_dir], help="list trained variants")
    p.add_argument("--family")
    p.set_defaults(func=cmd_variants)

    p = sub.add_parser("train", parents=[data_dir], help="train or resume a variant")
    p.add_argument("family")
    p.add_argument("--preset", help="named preset (see `miscope families`)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="domain parameter")
    p.add_argument("--epochs", type=int)
    p.add_argument("--checkpoints", help="'default', 'every:N' or a comma list of epochs")
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="training override: lr, weight_decay, betas (a,b), batch_size",
    )
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    p.add_argument("--analyze", action="store_true", help="run the default battery afterwards")
    _add_job_slots(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("analyze", parents=[data_dir], help="analyze a variant's checkpoints")
    p.add_argument("variant")
    p.add_argument("--analyzers", help="comma list (default: the default battery)")
    p.add_argument(
        "--param",
        action="append",
        metavar="ANALYZER.NAME=VALUE",
        help="analyzer parameter, e.g. neurons.frequency_specialization.threshold=0.9",
    )
    p.add_argument("--device", default=None)
    _add_job_slots(p)
    p.set_defaults(func=cmd_analyze)

    for module in (
        "app.cli.export_command",
        "app.cli.server_commands",
        "app.cli.calibrate_command",
        "app.cli.densify_command",
        "app.cli.sweep_command",
    ):
        try:
            importlib.import_module(module).add_parser(sub, data_dir)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `miscope` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"miscope: error: {exc}", file=sys.stderr)
        return 2
    except CorruptFileError as exc:  # names the file and what to do; no traceback
        print(f"miscope: error: {exc}", file=sys.stderr)
        return 1
    except USAGE_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"miscope: error: {message}", file=sys.stderr)
        return 2
    except JobConflictError as exc:  # not a usage error: the same command works later
        print(f"miscope: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("miscope: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
