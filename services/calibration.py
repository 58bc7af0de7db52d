"""Calibration as a service: plan, train + analyze, evaluate the checks, write the report.

The `miscope calibrate` command parses arguments and prints; the work happens here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from miscope_core.calibration.runner import LONG_EPOCHS, QUICK_SEEDS, all_passed
from miscope_core.workspace import Workspace

__all__ = [
    "LONG_EPOCHS",
    "QUICK_SEEDS",
    "all_passed",
    "device_note",
    "run_calibration",
    "write_calibration_report",
]


def run_calibration(
    workspace: Workspace,
    preset: str,
    seeds,
    skip_long: bool,
    long_epochs: int,
    device: str | None,
    train: bool = True,
    max_train_seconds: float | None = None,
    on_outcome: Callable[[object], None] | None = None,
) -> list:
    """Train (or reuse) and analyze every planned run; one outcome (checks evaluated) each."""
    from miscope_core.calibration.runner import plan_runs, prepare_in_parallel, train_and_analyze

    runs = plan_runs(preset, seeds, skip_long, long_epochs)
    prepared = {}
    if train and max_train_seconds is None:
        prepared = prepare_in_parallel(runs, workspace, device)
    outcomes = []
    for run_spec in runs:
        outcome = train_and_analyze(
            run_spec, workspace, device, train=train, max_train_seconds=max_train_seconds
        )
        if outcome.variant_id in prepared:  # the work was done in a worker process
            outcome.train_seconds, outcome.analyze_seconds = prepared[outcome.variant_id]
        if on_outcome is not None:
            on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes


def write_calibration_report(
    outcomes: list, workspace: Workspace, doc: Path, command: str, seconds: float, notes: list[str]
) -> Path:
    """Export the report's figures beside `doc` and write the report; returns its path."""
    from miscope_core.calibration.report import (
        FIGURES,
        LONG_FIGURES,
        export_figures,
        write_report,
    )

    figures_dir = doc.parent / "figures" / "calibration"
    usable = [o for o in outcomes if o.paths is not None]
    first_quick = next((o for o in usable if o.run.role != "long"), None)
    first_long = next((o for o in usable if o.run.role == "long"), None)
    figures = {}
    for outcome, chosen in ((first_quick, FIGURES), (first_long, LONG_FIGURES)):
        if outcome is not None:
            figures[outcome.variant_id] = export_figures(
                outcome, workspace.root, figures_dir, "", chosen
            )
    return write_report(outcomes, doc, figures, command, seconds, notes)


def device_note(device: str | None, preset: str) -> str:
    """The report's first context line: the device, the processor, torch's version."""
    import platform

    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return (
        f"Device: {device} ({platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}); preset {preset}."
    )
