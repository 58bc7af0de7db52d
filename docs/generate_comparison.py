"""Regenerate docs/comparing-variants.md and its figures from real quick-preset variants.

    uv run miscope train modulo_addition --preset quick --param seed=1 --param data_seed=1 \\
        --epochs 8000 --analyze          # likewise seed=2 data_seed=2, and the default seed
    uv run python docs/generate_comparison.py [--data-dir DIR]

Figures are exported through the catalog (notebook `compare()` API) into
docs/figures/comparing/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from miscope_core import compare, load_variant

DOCS = Path(__file__).resolve().parent
FIGURES = DOCS / "figures" / "comparing"
VARIANTS = ("p59_seed999_dseed598_tf0.4", "p59_seed1_dseed1_tf0.4", "p59_seed2_dseed2_tf0.4")
COLUMNS = (
    "variant",
    "final_test_accuracy",
    "train_accuracy_99",
    "test_accuracy_99",
    "test_loss_peak",
    "test_loss_steepest_drop",
    "key_frequencies",
    "shared_path_length",
    "shared_loop_area",
    "shared_self_intersections",
    "shared_closes",
)


def cell(value) -> str:
    """Markdown text for a table cell."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "—" if value is None else str(value)


def main() -> None:
    """Export the figures and write the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    variants = [load_variant(v, data_dir=args.data_dir) for v in VARIANTS]
    c = compare(variants)
    c.view("loss_curves").export("png", FIGURES / "loss_overlay.png")
    c.view("progress.losses", overlay=True).export("png", FIGURES / "progress_overlay.png")
    c.view("weights.frequency_spectrum.W_E", progress=1.0).export(
        "png", FIGURES / "fourier_grid_end.png"
    )
    c.view("parameters.pca.pc2_pc3").export("png", FIGURES / "pc2_pc3_per_variant.png")
    from miscope_core.views.export import figure_bytes

    (FIGURES / "pc2_pc3_shared.png").write_bytes(
        figure_bytes(c.shared_trajectory(pc_x=2, pc_y=3), "png")
    )
    (FIGURES / "pc1_pc2_shared.png").write_bytes(
        figure_bytes(c.shared_trajectory(pc_x=1, pc_y=2), "png")
    )
    rows = c.summary_table()
    table = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    table += ["| " + " | ".join(cell(row[k]) for k in COLUMNS) + " |" for row in rows]
    text = (DOCS / "comparing-variants.template.md").read_text()
    (DOCS / "comparing-variants.md").write_text(text.replace("{{TABLE}}", "\n".join(table)))
    print("wrote", DOCS / "comparing-variants.md")


if __name__ == "__main__":
    main()
