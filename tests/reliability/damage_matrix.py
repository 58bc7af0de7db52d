"""The damaged-file matrix: every file kind x every damage, each with its required outcome.

Shared by tests/reliability/test_damaged_files.py (CI) and benchmarks/reliability_damage.py
(the table in docs/reliability.md). A case copies a trained, analyzed base workspace, damages
one kind of file, and checks what the user gets; it raises AssertionError on a wrong outcome
and returns a one-line description of the right one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FAMILY = "modulo_addition"
BASE_PARAMS = {"prime": 11, "train_fraction": 0.5, "seed": 0, "data_seed": 0}
OTHER_PARAMS = {**BASE_PARAMS, "seed": 1}
TRAINING = {"epochs": 20, "checkpoints": "every:5"}
ANALYZERS = ["parameters.snapshot", "parameters.trajectory", "training.curves"]
DAMAGES = ("truncated", "zero_filled", "random_bytes", "non_utf8")
PAGES = ("families", "home", "analyze", "compare", "explore")


def damage_file(path: Path, damage: str) -> None:
    """Damage a file in place: cut to half, zeros / random bytes / non-UTF-8 at the same size."""
    data = Path(path).read_bytes()
    size = len(data)
    if damage == "truncated":
        replaced = data[: size // 2]
    elif damage == "zero_filled":
        replaced = bytes(size)
    elif damage == "random_bytes":
        replaced = np.random.default_rng(size).bytes(size)
    elif damage == "non_utf8":
        replaced = (b"\xff\xfe\xc3\x28" * (size // 4 + 1))[:size]
    else:
        raise ValueError(f"Unknown damage {damage!r}; valid: {list(DAMAGES)}")
    Path(path).write_bytes(replaced)


def spec_for(params: dict, training: dict | None = None):
    """The VariantSpec of the matrix's variants."""
    from miscope_core.families import get_family
    from miscope_core.variants import VariantSpec

    resolved, config = get_family(FAMILY).resolve(
        "tiny", params=params, training={**TRAINING, **(training or {})}
    )
    return VariantSpec(FAMILY, resolved, config)


def build_base(root: Path) -> Path:
    """Train and analyze the matrix's variant, and a second (trained) one, into `root`."""
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(root)
    result = train_variant(spec_for(BASE_PARAMS), workspace, device="cpu")
    run_analysis(result.paths, analyzers=ANALYZERS, device="cpu")
    train_variant(spec_for(OTHER_PARAMS, {"epochs": 10}), workspace, device="cpu")
    return Path(root)


@dataclass
class Case:
    """One copy of the base workspace with one kind of file damaged."""

    root: Path
    base: Path
    app: object | None
    damage: str
    cli: bool = False  # also run the `miscope` command (a job process: slow)

    @property
    def workspace(self):
        """The copy's Workspace."""
        from miscope_core.workspace import Workspace

        return Workspace.open(self.root)

    @property
    def variant_id(self) -> str:
        """The damaged variant's id."""
        return spec_for(BASE_PARAMS).variant_id

    @property
    def other_id(self) -> str:
        """The id of the variant nobody damaged."""
        return spec_for(OTHER_PARAMS, {"epochs": 10}).variant_id

    @property
    def paths(self):
        """VariantPaths of the damaged variant in the copy."""
        return self.workspace.variant_paths(FAMILY, self.variant_id)

    def base_file(self, path: Path) -> Path:
        """The undamaged original of a file of the copy."""
        return self.base / Path(path).relative_to(self.root)


# --- checks shared by the cases ------------------------------------------------------------
def assert_names(error: Exception, path: Path) -> None:
    """The message is 'Damaged file <path>: ...; <what to do>' and never mentions pickle."""
    text = str(error)
    assert text.startswith(f"Damaged file {path}: "), text
    assert "; " in text.removeprefix(f"Damaged file {path}: "), f"no advice in: {text}"
    assert "pickle" not in text.lower().replace("only pickle could read", ""), text


def run_cli(*argv: str) -> tuple[int, str]:
    """(exit code, stderr) of `miscope <argv>` run in process."""
    from app.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def assert_analyze_names(case: Case, path: Path, *argv: str) -> None:
    """Analysis fails with the CorruptFileError naming `path`; with `case.cli`, the
    `miscope` command also exits 1 with that line and no traceback."""
    from miscope_core.io import CorruptFileError

    try:
        analyze(case, ["parameters.snapshot"])
    except CorruptFileError as exc:
        assert_names(exc, path)
    else:
        raise AssertionError(f"analysis ran despite the damaged {path}")
    if not case.cli:
        return
    code, err = run_cli(*argv, "--data-dir", str(case.root))
    assert code == 1, (code, err)
    assert "Traceback" not in err, err
    assert f"Damaged file {path}" in err, err
    assert "pickle" not in err.lower().replace("only pickle could read", ""), err


def assert_pages_alive(case: Case, named: Path | None = None) -> None:
    """Every page layout renders (the page never fails); with `named`, the damaged variant's
    Explore page names the file and the other variant's Explore page works."""
    if case.app is None:
        return
    import dash

    from app.context import CONFIG_KEY, current_workspace
    from app.pages.analyze import status_table

    case.app.server.config[CONFIG_KEY] = str(case.root)
    layouts = {
        page["module"].rsplit(".", 1)[-1]: page["layout"] for page in dash.page_registry.values()
    }
    with case.app.server.test_request_context("/"):
        for page in PAGES:
            text = str(layouts[page]())
            assert "Cannot show the" not in text, (page, text[:2000])
        damaged = str(layouts["explore"](variant=case.variant_id))
        other = str(layouts["explore"](variant=case.other_id))
        both = str(layouts["compare"](variants=f"{case.variant_id},{case.other_id}"))
        assert "Cannot show the" not in both, both[:2000]
        status = str(status_table(current_workspace(), case.variant_id))
        if named is not None:
            assert str(named) in status, status[:2000]
    assert "Cannot show the" not in damaged and "Cannot show the" not in other
    assert "is damaged" not in other, other[:2000]
    if named is not None:
        assert str(named) in damaged, damaged[:2000]


def registry_state(case: Case, variant_id: str | None = None):
    """The registry's VariantState of the damaged (or another) variant."""
    from services.registry import list_variant_states

    states = {s.variant_id: s for s in list_variant_states(case.workspace)}
    return states[variant_id or case.variant_id]


def assert_listed_damaged(case: Case, path: Path) -> None:
    """The registry lists the variant as damaged with the file named; the other is fine."""
    state = registry_state(case)
    assert state.state == "damaged", (state.state, state.detail)
    assert str(path) in state.detail and str(path) in state.damaged_files, state.detail
    assert registry_state(case, case.other_id).state == "trained"


def analyze(case: Case, analyzers=None):
    """run_analysis on the damaged variant."""
    from miscope_core.analysis.pipeline import run_analysis

    return run_analysis(case.paths, analyzers=analyzers or ANALYZERS, device="cpu")


def assert_same_arrays(path: Path, original: Path) -> None:
    """The repaired file holds the original's arrays."""
    from miscope_core.io import load_npz

    got, want = load_npz(path), load_npz(original)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=f"{path}: {key}")


@contextlib.contextmanager
def captured_warnings(logger: str):
    """Collect the warning messages of one logger."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Collect(logging.WARNING)
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield records
    finally:
        target.removeHandler(handler)


# --- the file kinds -------------------------------------------------------------------------
def case_checkpoint(case: Case) -> str:
    from miscope_core.io import CorruptFileError
    from miscope_core.training.checkpoints import checkpoint_path, load_checkpoint

    path = checkpoint_path(case.paths.checkpoints, 10)
    damage_file(path, case.damage)
    try:
        load_checkpoint(case.paths.checkpoints, 10)
    except CorruptFileError as exc:
        assert_names(exc, path)
    else:
        raise AssertionError(f"{path} loaded despite the damage")
    assert_analyze_names(
        case, path, "analyze", case.variant_id, "--analyzers", "parameters.snapshot"
    )
    assert_pages_alive(case)
    return "named on load and by analyze; pages alive" + _cli_note(case)


def case_resume(case: Case) -> str:
    from miscope_core.training.trainer import train_variant

    path = case.paths.resume
    damage_file(path, case.damage)
    final = case.paths.checkpoints / "epoch_000020.safetensors"
    final.unlink()  # so that the run is not already complete and must resume
    with captured_warnings("miscope_core.training.state") as logged:
        result = train_variant(spec_for(BASE_PARAMS), case.workspace, device="cpu")
    assert result.status == "complete", result.status
    assert any(f"Damaged file {path}" in m for m in logged), logged
    assert any("resume.prev.safetensors" in m for m in logged), logged
    assert_same_weights(final, case.base_file(final))
    return "fell back to resume.prev.safetensors; retrained to the same final weights"


def assert_same_weights(path: Path, original: Path) -> None:
    """Same tensors as the unbroken run's checkpoint (bit-identity across thread counts is
    the trainer's determinism guarantee, tested on its own; here the fallback is checked)."""
    from miscope_core.training.checkpoints import load_tensors

    got, want = load_tensors(path)[0], load_tensors(original)[0]
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(
            got[key].numpy(), want[key].numpy(), rtol=1e-4, atol=1e-6, err_msg=f"{path}: {key}"
        )


def case_resume_and_previous(case: Case) -> str:
    from miscope_core.training.checkpoints import previous_resume_path
    from miscope_core.training.trainer import train_variant

    for path in (case.paths.resume, previous_resume_path(case.paths.resume)):
        damage_file(path, case.damage)
    with captured_warnings("miscope_core.training.state") as logged:
        result = train_variant(spec_for(BASE_PARAMS, {"epochs": 25}), case.workspace, device="cpu")
    assert result.status == "complete" and result.epochs_completed == 25, result
    lost = [m for m in logged if m.startswith("Resume: ")]
    assert lost and "checkpoint epoch 20" in lost[0] and "optimizer" in lost[0], logged
    return "fell back to newest intact checkpoint; logs optimizer/RNG reset"


def case_metrics(case: Case) -> str:
    from services.registry import read_metrics

    path = case.paths.metrics
    damage_file(path, case.damage)
    assert_listed_damaged(case, path)
    assert_pages_alive(case)
    original = case.base_file(path)
    rebuilt = read_metrics(case.paths)
    from miscope_core.io import load_npz

    want = load_npz(original)
    assert sorted(rebuilt) == sorted(want)
    for key in want:
        np.testing.assert_array_equal(rebuilt[key], want[key])
    report = analyze(case, ["training.curves"])
    assert str(path) in report.recovered, report.recovered
    assert_same_arrays(path, original)
    assert registry_state(case).state != "damaged"
    return "registry: damaged (named); rebuilt from resume state by analyze"


def _artifact_case(relative: str, analyzers: list[str]) -> Callable[[Case], str]:
    def check(case: Case) -> str:
        from miscope_core.io import CorruptFileError, load_npz

        path = case.paths.artifacts / relative
        damage_file(path, case.damage)
        try:
            load_npz(path)
        except CorruptFileError as exc:
            assert_names(exc, path)
        else:
            raise AssertionError(f"{path} loaded despite the damage")
        assert_pages_alive(case)
        report = analyze(case, analyzers)
        assert str(path) in report.recovered, report.recovered
        assert_same_arrays(path, case.base_file(path))
        return "named on load; pages alive; recomputed by analyze"

    return check


def case_manifest(case: Case, both: bool = False) -> str:
    from miscope_core.io import read_json

    path = case.paths.artifacts / "manifest.json"
    damage_file(path, case.damage)
    if both:
        damage_file(case.paths.artifacts / "manifest.prev.json", case.damage)
    assert_listed_damaged(case, path)
    assert_pages_alive(case)
    report = analyze(case)
    assert report.computed == {}, f"per-epoch work redone: {report.computed}"
    assert str(path) in report.recovered, report.recovered
    read_json(path, expect=dict)
    assert registry_state(case).state != "damaged", registry_state(case).detail
    source = "the artifact files" if both else "manifest.prev.json"
    return f"registry: damaged (named); rebuilt from {source}, nothing recomputed"


def case_variant_json(case: Case) -> str:
    path = case.paths.variant_json
    damage_file(path, case.damage)
    assert_listed_damaged(case, path)
    assert_pages_alive(case, named=path)
    assert_analyze_names(case, path, "analyze", case.variant_id)
    code, err = run_cli("variants", "--data-dir", str(case.root))
    assert code == 0 and "Traceback" not in err, err
    return "registry: damaged (named); pages alive; analyze names it" + _cli_note(case)


def _cli_note(case: Case) -> str:
    return "; `miscope analyze`: exit 1, one line, no traceback" if case.cli else ""


KINDS: dict[str, Callable[[Case], str]] = {
    "checkpoint": case_checkpoint,
    "resume state": case_resume,
    "resume + previous": case_resume_and_previous,
    "metrics.npz": case_metrics,
    "per-epoch artifact": _artifact_case(
        "parameters.snapshot/epoch_000010.npz", ["parameters.snapshot"]
    ),
    "summary artifact": _artifact_case("parameters.snapshot/summary.npz", ["parameters.snapshot"]),
    "cross-epoch artifact": _artifact_case(
        "parameters.trajectory/cross_epoch.npz", ["parameters.trajectory"]
    ),
    "manifest.json": case_manifest,
    "manifest + previous": lambda case: case_manifest(case, both=True),
    "variant.json": case_variant_json,
}


def run_case(base: Path, work: Path, kind: str, damage: str, app=None, cli=False) -> str:
    """Copy the base workspace to `work`, damage one `kind` of file, check the outcome
    (the copy is removed afterwards)."""
    # The dashboard over the base polls its job DB, so SQLite's -wal/-shm files come and go
    # mid-copy; the copy opens its own DB and needs neither.
    shutil.copytree(base, work, ignore=shutil.ignore_patterns("jobs.sqlite-wal", "jobs.sqlite-shm"))
    try:
        return KINDS[kind](Case(Path(work), Path(base), app, damage, cli))
    finally:  # a copy is ~15 MB; forty of them would fill a small /tmp
        shutil.rmtree(work, ignore_errors=True)
