"""`miscope export <variant> [--views ...] [--format ...]`: batch figure export, one browser;
`miscope views [variant]`: the catalog those names come from."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("png", "svg", "pdf", "html", "gif")


def add_parser(
    subparsers, data_dir_parent: argparse.ArgumentParser | None = None
) -> argparse.ArgumentParser:
    """Register the `export` subcommand (with the CLI's shared --data-dir parent, if given)."""
    parents = [data_dir_parent] if data_dir_parent is not None else []
    parser = subparsers.add_parser(
        "export",
        parents=parents,
        help="export views of a variant as png/svg/pdf/html/gif",
        description="Render catalog views of one variant to files (one browser start for the "
        "whole batch). Without --views, every view available for the variant.",
    )
    parser.add_argument("variant", help="variant id, e.g. p59_seed999_dseed598_tf0.4")
    parser.add_argument(
        "--views",
        nargs="+",
        metavar="VIEW",
        help="view names or aliases (default: every available view)",
    )
    parser.add_argument(
        "--format",
        default="png",
        choices=FORMATS,
        help="output format; gif animates across checkpoints (default: png)",
    )
    parser.add_argument(
        "--epoch",
        type=int,
        default=None,
        help="epoch to draw (nearest checkpoint; default: the last)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output folder (default: <data-dir>/exports/<variant>/)",
    )
    if data_dir_parent is None:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="workspace (default: $MISCOPE_DATA_DIR or data/)",
        )
    parser.set_defaults(func=run)
    add_views_parser(subparsers, parents)
    return parser


def add_views_parser(subparsers, parents: list[argparse.ArgumentParser]) -> None:
    """Register `miscope views [variant]`: the catalog, or what one variant can show."""
    parser = subparsers.add_parser(
        "views", parents=parents, help="list the view catalog (or a variant's available views)"
    )
    parser.add_argument("variant", nargs="?", help="also say which views this variant can draw")
    if not parents:
        parser.add_argument("--data-dir", type=Path, default=None)
    parser.set_defaults(func=run_views)


def run_views(args: argparse.Namespace) -> int:
    """Print one line per view: name, kind, title (and why not, for a variant)."""
    from services.catalog import list_catalog

    for row in list_catalog(args.data_dir, args.variant):
        line = f"{row['name']:<48} {row['kind']:<14} {row['title']}"
        if row["not_available"]:
            line += f"  [not available: {row['not_available']}]"
        print(line)
    print("Details and parameters: docs/views.md", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    """Export the views; print one line per file; exit 1 if any view failed."""
    from tqdm import tqdm

    from services.catalog import ExportError, export_views, views_to_export

    try:
        names = views_to_export(args.data_dir, args.variant, args.views, args.format)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(names), desc=f"export {args.format}", unit="view", file=sys.stderr)

    def advance(name, result):
        bar.update(1)
        bar.set_postfix_str(name)

    try:
        results = export_views(
            args.data_dir, args.variant, names, args.format, args.output, args.epoch, advance
        )
    except ExportError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    failed = {n: r for n, r in results.items() if isinstance(r, Exception)}
    for name, result in results.items():
        if name not in failed:
            print(result)
    for name, exc in failed.items():
        print(f"failed: {name}: {exc}", file=sys.stderr)
    print(f"{len(results) - len(failed)} of {len(results)} views exported", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (the lead wires `add_parser` into app/cli/main.py)."""
    parser = argparse.ArgumentParser(prog="miscope")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
