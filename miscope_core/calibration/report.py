"""docs/calibration.md: the checks table, phase boundaries, figures and the commands to redo it."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

from miscope_core.calibration.runner import RunOutcome, summary_counts

FIGURES = (  # (view, params, file stem, caption)
    (
        "phases.training.loss_curves",
        {},
        "loss_curves",
        "Train and test loss with the detected phase boundaries.",
    ),
    (
        "phases.progress.losses",
        {},
        "progress_losses",
        "Restricted and excluded loss beside train and test loss (Nanda et al. 2023 Fig. 7).",
    ),
    ("phases.progress.weight_norm", {}, "weight_norm", "Sum of squared weights."),
    ("phases.progress.gini", {}, "gini", "Gini of the Fourier norms of W_E and W_L = W_out·W_U."),
    (
        "weights.frequency_spectrum.W_E",
        {},
        "W_E_spectrum",
        "Fourier spectrum of W_E at the last checkpoint: a handful of key frequencies.",
    ),
    (
        "neurons.specialized_count",
        {},
        "neuron_clusters",
        "MLP neurons specialised to one frequency (≥ 85% of their variance), by frequency.",
    ),
    (
        "embedding.ring",
        {},
        "embedding_ring",
        "W_E in the plane of its strongest frequency's cos/sin pair: a ring ordered by k·a mod p.",
    ),
    (
        "algorithm.correct_logit_grid",
        {},
        "clock_pizza",
        "Correct-class logit over (a+b, a−b): independent of a−b for a Clock.",
    ),
    (
        "parameters.pc2_pc3_versus_random_walk",
        {},
        "pc2_pc3_null",
        "Trajectory PC2/PC3 beside a random walk sampled at the same epochs.",
    ),
    (
        "parameters.pca_versus_random_walk",
        {},
        "pca_null",
        "Explained variance of the trajectory PCA beside the random-walk null.",
    ),
)
LONG_FIGURES = (
    (
        "phases.parameters.turning_over_training",
        {},
        "long_turning",
        "Long-plateau run: displacement per window and turning cosine, beside the null.",
    ),
    ("phases.training.loss_curves", {}, "long_loss_curves", "Long-plateau run: losses."),
)


def fmt(value: float | None) -> str:
    """A short number (— for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.2e}"


def checks_table(outcome: RunOutcome) -> list[str]:
    """Markdown rows for one run's checks."""
    rows = [
        "| check | claim | measured | expected | result | source | detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in outcome.checks:
        mark = {"pass": "✅ pass", "fail": "❌ fail", "info": "ℹ info"}.get(c.status, "⏸ not run")
        rows.append(
            f"| `{c.name}` | {c.claim} | {fmt(c.measured)} | {c.expected} | {mark} | "
            f"{c.source} | {c.detail} |"
        )
    return rows


def matrix(outcomes: list[RunOutcome]) -> list[str]:
    """One row per check, one column per run: measured value and verdict."""
    names: list[str] = []
    for outcome in outcomes:
        names += [c.name for c in outcome.checks if c.name not in names]
    marks = {"pass": "✅", "fail": "❌", "info": "ℹ"}
    header = "| check | " + " | ".join(f"{o.run.role} `{o.variant_id}`" for o in outcomes) + " |"
    rows = [header, "|---|" + "---|" * len(outcomes)]
    for name in names:
        cells = []
        for outcome in outcomes:
            check = next((c for c in outcome.checks if c.name == name), None)
            cells.append(
                "" if check is None else f"{marks.get(check.status, '⏸')} {fmt(check.measured)}"
            )
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return rows


def phases_line(outcome: RunOutcome) -> str:
    """One line with the detected phase boundaries."""
    if outcome.paths is None:
        return ""
    from miscope_core.calibration.evidence import RunEvidence

    phases = RunEvidence.open(outcome.paths).phases
    return (
        "Phase boundaries (training.phases): "
        + ", ".join(
            f"{name.replace('_', ' ')} {'—' if math.isnan(value) else int(value)}"
            for name, value in phases.items()
        )
        + "."
    )


def export_figures(
    outcome: RunOutcome,
    data_dir: Path,
    figures_dir: Path,
    prefix: str,
    figures=FIGURES,
    log: Callable[[str], None] = print,
) -> list[tuple[str, str]]:
    """Export each figure through the view catalog; returns (relative path, caption)."""
    from miscope_core.notebook import load_variant
    from miscope_core.views.export import browser_session

    variant = load_variant(outcome.variant_id, data_dir=data_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with browser_session():
        for view, params, stem, caption in figures:
            path = figures_dir / f"{prefix}{stem}.png"
            try:
                variant.view(view, **params).export("png", path=path)
                written.append((path.name, f"{caption} (view `{view}`)"))
            except Exception as exc:  # noqa: BLE001 - a missing figure must not lose the report
                log(f"figure {view} not exported: {type(exc).__name__}: {exc}")
    return written


def definitions() -> list[str]:
    """How the phase boundaries and the trajectory signature are detected (module docs)."""
    from miscope_core.analysis import phases
    from miscope_core.calibration import signature

    def body(doc: str) -> list[str]:
        return [line for line in doc.strip().splitlines()[1:]]

    return [
        "## How boundaries and signatures are detected",
        "",
        "Phase boundaries (analyzer `training.phases`, drawn as dotted lines on the "
        "`phases.*` views):",
        "",
        *body(phases.__doc__ or ""),
        "",
        "Trajectory signature (long-plateau runs; reported without a verdict on the quick runs):",
        "",
        *body(signature.__doc__ or ""),
        "",
        "Analyzer definitions: `docs/analyzers.md` (`algorithm.clock_pizza`, "
        "`embedding.rings`, `parameters.trajectory_dynamics`, `progress.measures`, ...).",
        "",
    ]


def work_done(outcomes: list[RunOutcome]) -> str:
    """'trained 4 of 4 runs (12.1 min of training, 1.9 min of analysis, summed over runs)'."""
    trained = sum(1 for o in outcomes if o.train_seconds > 0)
    train_s = sum(o.train_seconds for o in outcomes)
    analyze_s = sum(o.analyze_seconds for o in outcomes)
    return (
        f"trained {trained} of {len(outcomes)} runs ({train_s / 60:.1f} min of training, "
        f"{analyze_s / 60:.1f} min of analysis, summed over runs)"
    )


def write_report(
    outcomes: list[RunOutcome],
    path: Path,
    figures: dict[str, list],
    command: str,
    seconds: float,
    notes: list[str],
) -> Path:
    """Write docs/calibration.md."""
    counts = summary_counts(outcomes)
    lines = [
        "# Calibration: the instruments against the published grokking results",
        "",
        "Generated by `miscope calibrate` from a real run (do not edit by hand). Each claim of "
        "Nanda et al. 2023 (progress measures), Zhong et al. 2023 (Clock vs Pizza), Liu et al. "
        "2022 (embedding rings) and Antognini & Sohl-Dickstein 2018 (random-walk null) is a "
        "named check with the measured value, the expected range (thresholds and their "
        "reasons: `../shared/CALIBRATION.md` §7) and pass/fail. No check uses a hard-coded "
        "frequency list: key frequencies are found from each run (CALIBRATION §8.2).",
        "",
        "## Regenerate",
        "",
        "The command that produced this file (it reuses trained variants and resumes unfinished "
        "ones; in a fresh workspace it trains everything):",
        "",
        "```",
        command,
        "uv run pytest tests/calibration -q   # known-answer tests + reduced calibration (slow)",
        "```",
        "",
        f"Wall time of this run: {seconds / 60:.1f} min on {os.cpu_count()} CPU core(s), "
        f"{work_done(outcomes)}. Checks: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + ".",
        "",
    ]
    lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    lines += [
        "## Summary",
        "",
        "✅ pass, ❌ fail, ⏸ not run, ℹ reported without a threshold. "
        "Details, expected ranges and sources per run below.",
        "",
        *matrix(outcomes),
        "",
    ]
    lines += definitions()
    for outcome in outcomes:
        title = outcome.variant_id or str(outcome.run.params)
        lines += [f"## {outcome.run.role}: `{title}`", ""]
        if outcome.note:
            lines += [f"**Not run:** {outcome.note}", ""]
        lines += [*checks_table(outcome), "", phases_line(outcome), ""]
        if outcome.train_seconds or outcome.analyze_seconds:
            lines += [
                f"Training {outcome.train_seconds:.0f} s (0 when reused), analysis "
                f"{outcome.analyze_seconds:.0f} s.",
                "",
            ]
        for name, caption in figures.get(outcome.variant_id, []):
            lines += [f"![{caption}](figures/calibration/{name})", "", f"*{caption}*", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path
