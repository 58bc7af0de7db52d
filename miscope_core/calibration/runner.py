"""Train (or reuse), analyze and check the calibration variants."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from miscope_core.calibration.checks import NOT_RUN, Check, not_run, run_checks
from miscope_core.calibration.evidence import CALIBRATION_ANALYZERS, RunEvidence
from miscope_core.calibration.signature import SOURCE, signature_checks
from miscope_core.variants import VariantPaths

# (seed, data_seed, epochs or None for the preset's). With the TL-demo initialization (measured
# 2026-12-02) 999/598, 1/1 and 2/2 reach 99% test accuracy at 2 532, 2 654 and 2 979, like
# CALIBRATION §6.1's G1/G2 (~2 850), but 2/2's test loss stays above 1e-3 until 5 661: 1/1 and
# 2/2 train to 8 000, so that the cleanup checks read a cleaned-up run.
QUICK_SEEDS = ((999, 598, None), (1, 1, 8000), (2, 2, 8000))
LONG_PLATEAU = {"prime": 59, "train_fraction": 0.3, "seed": 999, "data_seed": 598}
# With the TL-demo initialisation (W_O and W_out std 1/sqrt(d_model * n_layers)) the
# long-plateau run is at 44% test accuracy (test loss 5.2) at epoch 14 000, still grokking; it
# reaches 99% at ~16 000 and test loss 1e-4 by 17 500: 19 000 leaves room for the cleanup.
LONG_EPOCHS = 19000


@dataclass(frozen=True)
class CalibrationRun:
    """One variant of the calibration: its role, settings and checkpoint schedule."""

    role: str  # "quick" (core checks) or "long" (trajectory signature)
    preset: str
    params: dict
    training: dict
    window: int = 0  # trajectory_dynamics window (0 = auto)
    llc: bool = False  # also run landscape.llc (the LLC checks; hundreds of SGLD steps each)

    @property
    def analyzers(self) -> list[str]:
        """The calibration analyzers this run needs."""
        return [*CALIBRATION_ANALYZERS, *(["landscape.llc"] if self.llc else [])]


@dataclass
class RunOutcome:
    """Checks of one run, with its variant id and timings."""

    run: CalibrationRun
    variant_id: str = ""
    checks: list[Check] = field(default_factory=list)
    train_seconds: float = 0.0  # 0 when the trained variant was reused
    analyze_seconds: float = 0.0
    paths: VariantPaths | None = None
    note: str = ""

    @property
    def passed(self) -> bool:
        """Every evaluated check passed (not-run checks count as not passed)."""
        return all(c.passed for c in self.checks)


def plan_runs(
    preset: str = "quick",
    seeds=QUICK_SEEDS,
    skip_long: bool = False,
    long_epochs: int = LONG_EPOCHS,
) -> list[CalibrationRun]:
    """The calibration variants: one per seed pair, plus the long-plateau variant."""
    every = 100 if preset == "quick" else 250
    runs = []
    for seed, data_seed, *rest in seeds:
        training = {"checkpoints": f"every:{every}"}
        if rest and rest[0]:
            training["epochs"] = int(rest[0])
        runs.append(
            CalibrationRun(
                "quick" if preset == "quick" else preset,
                preset,
                {"seed": seed, "data_seed": data_seed},
                training,
                llc=True,
            )
        )
    if not skip_long and preset == "quick":
        runs.append(
            CalibrationRun(
                "long",
                "quick",
                dict(LONG_PLATEAU),
                {"epochs": long_epochs, "checkpoints": "every:250"},
                window=1000,
            )
        )
    return runs


def variant_spec(run: CalibrationRun):
    """The VariantSpec of a calibration run."""
    from miscope_core.specs import resolve_variant_spec

    return resolve_variant_spec("modulo_addition", run.preset, run.params, run.training)


def train_and_analyze(
    run: CalibrationRun,
    workspace,
    device: str | None = None,
    train: bool = True,
    log: Callable[[str], None] = print,
    max_train_seconds: float | None = None,
) -> RunOutcome:
    """Train (resuming or reusing), run the calibration analyzers, evaluate the checks.

    With max_train_seconds, training stops (resumably) after that long and the run's checks
    are reported 'not run' with the epoch reached.
    """
    from miscope_core.training.trainer import train_variant

    spec = variant_spec(run)
    outcome = RunOutcome(run, spec.variant_id)
    paths = workspace.variant_paths(spec.family, spec.variant_id)
    started = time.monotonic()
    if train:
        log(f"[{run.role}] training {spec.variant_id} to {spec.training.epochs} epochs")
        deadline = None if max_train_seconds is None else started + max_train_seconds
        result = train_variant(
            spec,
            workspace,
            device=device,
            should_stop=lambda: deadline is not None and time.monotonic() > deadline,
        )
        if result.status not in ("complete", "already_complete"):
            return skipped(
                outcome,
                f"training stopped at epoch {result.epochs_completed} of "
                f"{spec.training.epochs} ({result.status}: time budget); "
                f"rerun the command to resume it",
            )
        if result.status == "complete":  # "already_complete" (reused) counts 0 s
            outcome.train_seconds = time.monotonic() - started
    elif not trained(run, workspace):
        return skipped(
            outcome,
            f"not trained to {spec.training.epochs} epochs (reached "
            f"{epochs_reached(paths)}); run without --no-train to train "
            f"or resume it",
        )
    log(f"[{run.role}] analyzing {spec.variant_id}")
    started = time.monotonic()
    analyze_run(run, paths, device)
    outcome.analyze_seconds = time.monotonic() - started
    outcome.paths = paths
    outcome.checks = evaluate(run, RunEvidence.open(paths))
    return outcome


def analyze_run(
    run: CalibrationRun,
    paths: VariantPaths,
    device: str | None = None,
    should_stop: Callable[[], bool] | None = None,
):
    """Run (incrementally) the calibration analyzers with the run's parameters: the report."""
    from miscope_core.analysis.pipeline import run_analysis

    params = {"parameters.trajectory_dynamics": {"window": run.window}} if run.window else None
    return run_analysis(
        paths,
        analyzers=run.analyzers,
        params=params,
        device=device,
        should_stop=should_stop,
    )


def epochs_reached(paths: VariantPaths) -> int:
    """Epochs trained so far (from the metrics, which the resume state saves too)."""
    from miscope_core.training.trainer import load_metrics

    metrics = load_metrics(paths)
    if "train_loss" not in metrics:
        return 0
    import numpy as np

    return int(np.sum(~np.isnan(np.asarray(metrics["train_loss"], dtype=float))))


def complete(paths: VariantPaths, epochs: int) -> bool:
    """True when the variant has trained to `epochs`."""
    from miscope_core.io import read_json

    record = read_json(paths.variant_json)
    return record.get("status") == "complete" and record.get("epochs_completed", 0) >= epochs


def skipped(outcome: RunOutcome, reason: str) -> RunOutcome:
    """An outcome whose checks are all 'not run' for the given reason."""
    outcome.note = reason
    names = (
        ("trajectory_speed", "trajectory_turning")
        if outcome.run.role == "long"
        else ("core_checks",)
    )
    outcome.checks = [
        not_run(
            n,
            n.replace("_", " "),
            "",
            SOURCE if outcome.run.role == "long" else "CALIBRATION §7",
            reason,
        )
        for n in names
    ]
    return outcome


def evaluate(run: CalibrationRun, evidence: RunEvidence) -> list[Check]:
    """Core checks for the quick runs; the trajectory signature (plus context) for long runs."""
    if run.role == "long":
        from miscope_core.calibration.checks import check_grokking_delay, check_trajectory_null

        return [
            *run_checks(evidence, (check_grokking_delay, check_trajectory_null)),
            *signature_checks(evidence),
        ]
    return [*run_checks(evidence), *[as_info(c) for c in signature_checks(evidence)]]


def as_info(check: Check) -> Check:
    """A signature check reported without a verdict (quick runs: CALIBRATION §7.9 says the
    signature belongs to long plateaus only)."""
    from dataclasses import replace

    from miscope_core.calibration.checks import INFO

    if check.status == NOT_RUN:
        return replace(check, status=INFO, claim=f"{check.claim} (informational here)")
    verdict = "would pass" if check.status == "pass" else "would fail"
    return replace(
        check,
        status=INFO,
        claim=f"{check.claim} (informational here)",
        detail=f"{verdict}: {check.detail}",
    )


def summary_counts(outcomes: list[RunOutcome]) -> dict[str, int]:
    """Number of checks per status over all runs."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        for check in outcome.checks:
            counts[check.status] = counts.get(check.status, 0) + 1
    return counts


def all_passed(outcomes: list[RunOutcome]) -> bool:
    """Every check of every run passed (a 'not run' check is not a pass)."""
    return all(c.status != NOT_RUN and c.passed for o in outcomes for c in o.checks)


# Set in a worker process once the calibrating (parent) process is gone; held while a task runs.
_PARENT_GONE = threading.Event()
_BUSY = threading.Lock()


def _init_worker(parent: int, threads: int) -> None:
    """Pool initializer: torch's thread count, and a watcher so that once the parent dies
    (SIGTERM, SIGKILL) the running task stops at its next epoch or checkpoint with its state
    saved and the worker exits; an idle worker would otherwise wait for work forever."""
    import torch

    torch.set_num_threads(threads)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        _PARENT_GONE.set()
        with _BUSY:
            os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _train_in_worker(run: CalibrationRun, root: str, device: str | None) -> tuple[str, float]:
    """Train one run in a worker process (module-level so that it pickles): (status, seconds)."""
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    with _BUSY:
        started = time.monotonic()
        result = train_variant(
            variant_spec(run), Workspace.open(root), device=device, should_stop=_PARENT_GONE.is_set
        )
        return result.status, time.monotonic() - started


def _analyze_in_worker(run: CalibrationRun, root: str, device: str | None) -> float:
    """Analyze one run in a worker process: seconds taken."""
    from miscope_core.workspace import Workspace

    with _BUSY:
        started = time.monotonic()
        spec = variant_spec(run)
        analyze_run(
            run,
            Workspace.open(root).variant_paths(spec.family, spec.variant_id),
            device,
            should_stop=_PARENT_GONE.is_set,
        )
        return time.monotonic() - started


def prepare_in_parallel(
    runs: list[CalibrationRun],
    workspace,
    device: str | None = None,
    workers: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, tuple[float, float]]:
    """Train and analyze every run on CPU, one process per core: {variant id: (train s,
    analysis s)}, empty when there is one core or a GPU (then train_and_analyze does it all).

    The runs are independent, so a sequential loop would leave all but one core idle. Training
    starts longest first, so that the long-plateau run overlaps every short one (LPT
    scheduling), and each run's analysis is queued the moment its training ends, so it overlaps
    the trainings still going. Each run still resumes exactly, and the analysis is incremental.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from miscope_core.models.bridge import resolve_device

    workers = min(len(runs), workers or os.cpu_count() or 1)
    if workers < 2 or resolve_device(device) != "cpu":
        return {}
    threads = max(1, (os.cpu_count() or 1) // workers)
    root, parent = str(workspace.root), os.getpid()
    to_train = sorted(
        (r for r in runs if not trained(r, workspace)),
        key=lambda r: variant_spec(r).training.epochs,
        reverse=True,
    )
    log(
        f"training {len(to_train)} and analyzing {len(runs)} runs in {workers} processes "
        f"({threads} thread(s) each)"
    )
    seconds = {variant_spec(r).variant_id: (0.0, 0.0) for r in runs}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(parent, threads)
    ) as pool:
        pending = {pool.submit(_train_in_worker, r, root, device): (r, "train") for r in to_train}
        pending |= {
            pool.submit(_analyze_in_worker, r, root, device): (r, "analyze")
            for r in runs
            if r not in to_train
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                run, stage = pending.pop(future)
                variant_id = variant_spec(run).variant_id
                train_s, analyze_s = seconds[variant_id]
                if stage == "train":
                    status, train_s = future.result()
                    log(f"[{run.role}] {variant_id}: training {status} in {train_s:.0f} s")
                    if status in ("complete", "already_complete"):
                        pending[pool.submit(_analyze_in_worker, run, root, device)] = (
                            run,
                            "analyze",
                        )
                else:
                    analyze_s = future.result()
                    log(f"[{run.role}] {variant_id}: analyzed in {analyze_s:.0f} s")
                seconds[variant_id] = (train_s, analyze_s)
    return seconds


def trained(run: CalibrationRun, workspace) -> bool:
    """True when the run's variant has trained to its epochs."""
    spec = variant_spec(run)
    paths = workspace.variant_paths(spec.family, spec.variant_id)
    return paths.variant_json.exists() and complete(paths, spec.training.epochs)
