"""Regenerate docs/interventions.md and its figures from real quick-preset runs.

    uv run python docs/generate_interventions.py --data-dir DIR

Trains and analyzes (default battery) the quick presets of modulo_addition and induction into
DIR when they are not there yet (a few minutes each on CPU), then runs the interventions
through the notebook API, densifies the induction run around its phase change, and writes
every number and figure on the page (figures under docs/figures/interventions/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from miscope_core import load_variant

DOCS = Path(__file__).resolve().parent
FIGURES = DOCS / "figures" / "interventions"


def ensure_trained(family: str, data_dir: str) -> str:
    """The quick preset's variant id, trained and analyzed into data_dir if missing."""
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.specs import resolve_variant_spec
    from miscope_core.training.records import read_variant_record
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    spec = resolve_variant_spec(family, "quick", {}, {})
    workspace = Workspace.open(data_dir)
    paths = workspace.variant_paths(spec.family, spec.variant_id)
    if read_variant_record(paths).get("status") != "complete":
        run_analysis(train_variant(spec, workspace).paths)
    return spec.variant_id


def nearest_index(epochs: np.ndarray, epoch: float) -> int:
    """Index of the checkpoint nearest `epoch`."""
    return int(np.argmin(np.abs(np.asarray(epochs) - epoch)))


def fmt(value: float) -> str:
    """A number for a table cell."""
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def modular_addition(variant_id: str, data_dir: str) -> dict[str, str]:
    """Key-frequency subspace, frequency clusters and heads: numbers and figures."""
    v = load_variant(variant_id, data_dir=data_dir)
    v.intervene("ablate", ["key_frequencies", "frequency_clusters", "heads"], how="mean")
    s = v.source.summary("interventions.ablation")
    names = [str(n) for n in s["component_names"][-1]]
    phases = v.source.cross_epoch("training.phases")
    bounds = dict(zip(map(str, phases["boundary_names"]), phases["boundary_epochs"], strict=True))
    epochs = np.asarray(s["epochs"])
    picks = {
        "early (memorizing, epoch ~200)": nearest_index(epochs, 200),
        "end of memorization": nearest_index(epochs, bounds["memorization_end"]),
        "start of cleanup": nearest_index(epochs, bounds["cleanup_start"]),
        "end of run": len(epochs) - 1,
    }
    rows = [
        "| checkpoint | epoch | train acc clean / ablated | test acc clean / ablated | "
        "test loss clean / ablated |",
        "|---|---|---|---|---|",
    ]
    for label, i in picks.items():
        a, b = s["baseline_accuracy"][i], s["accuracy"][i, 0]
        la, lb = s["baseline_loss"][i], s["loss"][i, 0]
        rows.append(
            f"| {label} | {epochs[i]} | {a[0]:.3f} / {b[0]:.3f} | {a[1]:.3f} / {b[1]:.3f} | "
            f"{fmt(la[1])} / {fmt(lb[1])} |"
        )
    norms = v.source.epoch("interventions.ablation", int(epochs[-1]))["logit_frequency_norms"]
    keys = [int(k) for k in names[0].split("{")[1].rstrip("}").split(",")]
    cluster_rows = [
        "| ablated | " + " | ".join(f"k={k} logit norm" for k in keys) + " | test acc |",
        "|---|" + "---|" * (len(keys) + 1),
        "| (clean) | "
        + " | ".join(fmt(norms[0, k - 1]) for k in keys)
        + f" | {s['baseline_accuracy'][-1][1]:.3f} |",
    ]
    for c, name in enumerate(names):
        if "neurons" in name:
            cluster_rows.append(
                f"| {name} | "
                + " | ".join(fmt(norms[c + 1, k - 1]) for k in keys)
                + f" | {s['accuracy'][-1, c, 1]:.3f} |"
            )
    v.view("interventions.necessity", metric="accuracy", metric_set="test").export(
        "png", FIGURES / "modadd_necessity_test_accuracy.png"
    )
    v.view("interventions.necessity_heatmap", metric="loss", metric_set="test").export(
        "png", FIGURES / "modadd_heatmap_test_loss.png"
    )
    v.view("interventions.logit_frequencies").export(
        "png", FIGURES / "modadd_logit_frequencies.png"
    )
    v.intervene("patch", "key_frequencies", how="mean", n_grid=6)
    patch = v.source.cross_epoch("interventions.patching")
    v.view("interventions.patching_matrix").export("png", FIGURES / "modadd_patching.png")
    return {
        "MOD_VARIANT": variant_id,
        "MOD_COMPONENTS": ", ".join(f"`{n}`" for n in names),
        "MOD_N": str(len(epochs)),
        "MOD_TABLE": "\n".join(rows),
        "MOD_CLUSTERS": "\n".join(cluster_rows),
        "MOD_PHASES": ", ".join(f"{k} {fmt(v)}" for k, v in bounds.items()),
        "PATCH_EPOCHS": ", ".join(str(e) for e in patch["epochs"]),
        "PATCH_TABLE": matrix_table(patch["epochs"], patch["recovered"][0]),
    }


def matrix_table(epochs, matrix) -> str:
    """A markdown table of an s x t matrix (rows t, columns s)."""
    head = "| t \\ s | " + " | ".join(str(e) for e in epochs) + " |"
    rule = "|---|" + "---|" * len(epochs)
    body = [
        f"| {t} | " + " | ".join(fmt(x) if np.isfinite(x) else "—" for x in row) + " |"
        for t, row in zip(epochs, matrix, strict=True)
    ]
    return "\n".join([head, rule, *body])


def induction(variant_id: str, data_dir: str) -> dict[str, str]:
    """Densify around the phase change, then ablate every head."""
    v = load_variant(variant_id, data_dir=data_dir)
    before = len(v.epochs)
    started = time.monotonic()
    result = v.densify(150, 400, every=5)
    densify_seconds = time.monotonic() - started
    v.intervene("ablate", "heads", how="mean")
    s = v.source.summary("interventions.ablation")
    names = [str(n) for n in s["component_names"][-1]]
    sets = [str(n) for n in s["set_names"][-1]]
    scores = v.source.summary("attention.source_scores")["induction_score"]
    layer, head = np.unravel_index(np.argmax(scores[-1]), scores[-1].shape)
    induction_head = f"L{layer}H{head}"
    c, r = names.index(induction_head), sets.index("repeated_half")
    epochs = np.asarray(s["epochs"])
    rows = [
        "| epoch | induction score | repeated-half loss clean / ablated | "
        "repeated-half acc clean / ablated |",
        "|---|---|---|---|",
    ]
    score_epochs = v.source.summary("attention.source_scores")["epochs"]
    for epoch in (100, 200, 250, 300, 350, 400, int(epochs[-1])):
        i = nearest_index(epochs, epoch)
        j = nearest_index(score_epochs, epochs[i])
        rows.append(
            f"| {epochs[i]} | {scores[j][layer, head]:.2f} | {fmt(s['baseline_loss'][i][r])} / "
            f"{fmt(s['loss'][i, c, r])} | {s['baseline_accuracy'][i][r]:.3f} / "
            f"{s['accuracy'][i, c, r]:.3f} |"
        )
    final = {n: s["loss"][-1, k, r] for k, n in enumerate(names)}
    others = sorted((loss, n) for n, loss in final.items() if n != induction_head)
    v.view("interventions.necessity", metric="loss", metric_set="repeated_half").export(
        "png", FIGURES / "induction_necessity_repeated_half.png"
    )
    v.view("interventions.necessity_heatmap", metric="loss", metric_set="repeated_half").export(
        "png", FIGURES / "induction_heatmap.png"
    )
    return {
        "IND_VARIANT": variant_id,
        "IND_HEAD": induction_head,
        "IND_TABLE": "\n".join(rows),
        "IND_OTHERS": ", ".join(f"{n} {fmt(loss)}" for loss, n in others[-3:]),
        "IND_DENSIFY": (
            f"replayed {result.plan.replay_epochs} epochs from epoch {result.plan.replay_from} "
            f"and wrote {len(result.written)} checkpoints ({before} -> {len(v.epochs)}) in "
            f"{densify_seconds:.0f} s"
            if result.written
            else f"found the window already densified by an earlier run of this script "
            f"({len(v.epochs)} checkpoints)"
        ),
    }


def main() -> None:
    """Run everything and write the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    values = modular_addition(ensure_trained("modulo_addition", args.data_dir), args.data_dir)
    values |= induction(ensure_trained("induction", args.data_dir), args.data_dir)
    text = (DOCS / "interventions.template.md").read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    (DOCS / "interventions.md").write_text(text)
    print("wrote", DOCS / "interventions.md")


if __name__ == "__main__":
    main()
