"""Generate docs/views.md from the catalog: `python -m miscope_core.views.docs [--check]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from miscope_core.views.registry import ALIASES, KINDS, METRICS, ViewSpec, list_views

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "views.md"
KIND_TITLES = {
    "per_epoch": "Per-epoch views (one checkpoint; default: the last)",
    "across_epochs": "Across-epoch views (summary over training, epoch cursor)",
    "cross_epoch": "Cross-epoch views (computed from many checkpoints)",
    "cross_variant": "Cross-variant views",
}
HEADER = """# View catalog

Generated from the view registry by `python -m miscope_core.views.docs`; do not edit by hand
(a test fails when this file is stale). Every view works in the notebook
(`load_variant(...).view(name, **params)`), the dashboard and `miscope export`;
`miscope views [variant]` lists them in a terminal (with why a view is not available).

Conventions: per-epoch views default to the last checkpoint and snap a requested epoch to
the nearest checkpoint (said in the title); across-epoch views draw a dashed epoch cursor
(shape or trace named `epoch_cursor`); colour scales and y ranges are fixed across epochs.
Frequency axes use the family's labels (`k=14` for modular addition), basis-index labels
otherwise. A view whose artifacts are missing names the analyzer to run; one that needs
family context (or an MLP) the variant lacks is reported as not applicable, with the reason.

## Python API

```python
from miscope_core import load_variant, list_views
v = load_variant("modulo_addition", prime=59, seed=999, train_fraction=0.4)  # or by id
v.view("parameter_trajectory").show()          # inline; .figure() is the Plotly figure
# (in a terminal .show() writes an offline HTML file under exports/ and prints its path)
v.at(1200).view("fourier_norms").export("png")  # nearest checkpoint; canonical path returned
v.view("fourier_norms").export("gif")           # one frame per checkpoint, fixed axes
v.available_views()                             # availability and reasons
list_views(kind="per_epoch")
```

Services and the dashboard use the same catalog through plain functions:
`miscope_core.views.render_view(workspace, variant_id, view, epoch=None, **params)` (a Plotly
figure), `miscope_core.views.export.export_view(...)` / `export_bytes(...)` (files or bytes
for a download route), `miscope_core.views.table.figure_to_csv(figure)` (the plotted data),
and `miscope export <variant> --views ... --format png|svg|pdf|html|gif` (one browser start
for a batch). Add a view with `register_view(ViewSpec(...))` in a module under
`miscope_core/views/library/`, then run `python -m miscope_core.views.docs`.
"""


def requirement_text(spec: ViewSpec) -> str:
    """'metrics.npz' / '`analyzer`' list."""
    return ", ".join("metrics.npz (training)" if r == METRICS else f"`{r}`" for r in spec.requires)


def view_section(spec: ViewSpec) -> list[str]:
    """Markdown lines for one view."""
    aliases = sorted(a for a, target in ALIASES.items() if target == spec.name)
    lines = [
        f"### `{spec.name}`",
        "",
        spec.description,
        "",
        f"- title: {spec.title}",
        f"- kind: `{spec.kind}`",
        f"- requires: {requirement_text(spec)}",
    ]
    if aliases:
        lines.append("- aliases: " + ", ".join(f"`{a}`" for a in aliases))
    if spec.context_keys:
        lines.append("- family context: " + ", ".join(f"`{k}`" for k in spec.context_keys))
    if spec.requires_mlp:
        lines.append("- needs MLP layers")
    if spec.params:
        lines.append("- parameters:")
        lines += [f"  - {p.describe()}" for p in spec.params]
    else:
        lines.append("- parameters: none")
    return [*lines, ""]


def render_catalog_markdown() -> str:
    """The whole docs/views.md text."""
    views = list_views()
    lines = [HEADER, f"{len(views)} views.", ""]
    for kind in KINDS:
        chosen = [v for v in views if v.kind == kind]
        if chosen:
            lines += [f"## {KIND_TITLES[kind]}", ""]
            for spec in chosen:
                lines += view_section(spec)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write docs/views.md (or, with --check, exit 1 when it is stale)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--output", type=Path, default=DOCS_PATH)
    args = parser.parse_args(argv)
    text = render_catalog_markdown()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run `python -m miscope_core.views.docs`")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(list_views())} views)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
