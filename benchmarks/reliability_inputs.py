"""Hypothesis-generated service inputs: each is accepted or refused with a clear ValidationError.

Feeds generated family / preset / params / training overrides / epochs / checkpoints / device
values to the training entry points (`resolve_variant_spec`, `validate_training_request`,
`launch_training(..., start=False)`) inside a temporary workspace, and checks that

- every input either succeeds or raises `ValidationError` with a short message that is not a
  bare Python conversion error (no other exception type), and
- nothing is written outside the workspace: the system temp dir is pointed at a private
  folder that must stay empty, and the repository tree (where the default workspace `data/`
  lives) must not change.

    uv run python benchmarks/reliability_inputs.py [--examples 1000] [--data-dir DIR]

Prints a markdown table; exits non-zero on any unexpected error or file outside the workspace.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from miscope_core.families import ValidationError  # noqa: E402

# Phrases of Python's own conversion errors: a message made of them names no setting.
GENERIC_PHRASES = (
    "could not convert",
    "invalid literal",
    "object is not",
    "unhashable type",
    "not supported between",
    "NoneType",
    "argument must be",
    "object has no",
)
MAX_MESSAGE = 600
ENTRY_POINTS = ("resolve", "validate", "launch")
PARAM_NAMES = (
    "prime",
    "seed",
    "data_seed",
    "train_fraction",
    "vocab_size",
    "half_length",
    "min_period",
)
TRAINING_NAMES = ("epochs", "lr", "weight_decay", "betas", "batch_size", "checkpoints")


def numbers() -> st.SearchStrategy:
    """Numbers a form or a CLI might send, edge cases included (NaN, inf, huge, bools)."""
    return st.one_of(
        st.integers(min_value=-10, max_value=200),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=0, max_value=1),
        st.booleans(),
        st.sampled_from([3, 7, 13, 59, 113, 1009, 10007, 2**63, 10**30, 0.4958676, 1e-9]),
    )


def values() -> st.SearchStrategy:
    """Any value a setting might receive: numbers, numeric or junk strings, None, lists."""
    return st.one_of(
        numbers(),
        numbers().map(str),
        st.text(max_size=12),
        st.none(),
        st.just(""),
        st.sampled_from(
            [
                "nan",
                "inf",
                "-1",
                "1e400",
                "0.9,0.98",
                "0.9,1",
                "full",
                "every:10",
                "every:0",
                "every:1",
                "0,50,200",
                "default",
                "abc",
                " 7 ",
            ]
        ),
        st.lists(numbers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )


PLAUSIBLE = {
    "prime": st.sampled_from([3, 5, 7, 11, 13, 23, 59, 113]),
    "seed": st.integers(0, 10_000),
    "data_seed": st.integers(0, 10_000),
    "train_fraction": st.floats(0.05, 0.95),
    "vocab_size": st.integers(4, 64),
    "half_length": st.integers(2, 8),
    "min_period": st.integers(1, 2),
    "epochs": st.integers(1, 5_000),
    "lr": st.floats(1e-5, 1.0),
    "weight_decay": st.one_of(st.floats(0, 10), st.integers(0, 10)),
    "betas": st.one_of(st.tuples(st.floats(0, 0.999), st.floats(0, 0.999)), st.just("0.9,0.98")),
    "batch_size": st.one_of(st.none(), st.just("full"), st.integers(1, 512)),
    "checkpoints": st.sampled_from(["default", "every:10", "every:100", "0,5,10"]),
}


def settings_dicts(names: tuple[str, ...]) -> st.SearchStrategy:
    """None, plausible values of known names (often valid), or junk names and values."""
    plausible = st.dictionaries(st.sampled_from(names), st.none(), max_size=len(names)).flatmap(
        lambda chosen: st.fixed_dictionaries({name: PLAUSIBLE[name] for name in chosen})
    )
    keys = st.one_of(st.sampled_from(names), st.text(max_size=8))
    junk = st.dictionaries(keys, values(), max_size=4)
    return st.one_of(st.none(), plausible, plausible, junk)


def requests() -> st.SearchStrategy:
    """One generated call: entry point, family, preset, params, overrides, epochs, device."""
    return st.sampled_from(["modulo_addition", "modulo_addition", "induction", "other"]).flatmap(
        family_request
    )


def family_request(family: str) -> st.SearchStrategy:
    """A request for one family (its own parameter names, mostly), or a junk family name."""
    names = {"modulo_addition": PARAM_NAMES[:4], "induction": PARAM_NAMES[1:3] + PARAM_NAMES[4:]}
    return st.fixed_dictionaries(
        {
            "entry": st.sampled_from(ENTRY_POINTS),
            "family": st.just(family)
            if family in names
            else st.one_of(st.text(max_size=10), st.integers()),
            "preset": st.one_of(
                st.none(),
                st.sampled_from(["tiny", "quick", "canonical", "tiny"]),
                st.sampled_from(["tiny", None, "quick"]),
                st.text(max_size=8),
                st.integers(),
            ),
            "params": settings_dicts(names.get(family, PARAM_NAMES)),
            "overrides": settings_dicts(TRAINING_NAMES),
            "epochs": st.one_of(
                st.none(), st.none(), PLAUSIBLE["epochs"], numbers(), st.text(max_size=6)
            ),
            "checkpoints": st.one_of(st.none(), st.none(), PLAUSIBLE["checkpoints"], values()),
            "device": st.one_of(
                st.none(),
                st.none(),
                st.sampled_from(["cpu", "auto", ""]),
                st.sampled_from(["cuda", "cuda:7", "tpu", "mps", "gpu"]),
                st.text(max_size=6),
            ),
        }
    )


@dataclass
class Tally:
    """Outcome counts of a run, with a few examples of anything unexpected."""

    counts: Counter = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)

    def record(self, request: dict, error: BaseException | None) -> None:
        """Classify one call's outcome."""
        self.counts["inputs"] += 1
        if error is None:
            self.counts["accepted"] += 1
        elif isinstance(error, ValidationError) and is_clear(str(error)):
            self.counts["refused"] += 1
        elif isinstance(error, ValidationError):
            self.counts["unclear"] += 1
            self.unclear.append(f"{request!r}: {error}")
        else:
            self.counts["unexpected"] += 1
            self.unexpected.append(f"{request!r}: {type(error).__name__}: {error}")


def is_clear(message: str) -> bool:
    """Short, and not a bare Python conversion error."""
    return 0 < len(message) <= MAX_MESSAGE and not any(p in message for p in GENERIC_PHRASES)


def call_entry(request: dict, workspace_root: Path) -> None:
    """Call the request's service entry point (launch records a job, never starts it)."""
    from miscope_core.specs import check_device, resolve_variant_spec
    from miscope_core.workspace import Workspace
    from services.launch import launch_training, validate_training_request

    overrides = request["overrides"]
    if request["entry"] == "resolve":
        resolve_variant_spec(
            request["family"],
            request["preset"],
            request["params"],
            overrides,
            epochs=request["epochs"],
            checkpoints=request["checkpoints"],
        )
        check_device(request["device"])
        return
    if isinstance(overrides, dict):
        overrides = {
            **overrides,
            **{k: request[k] for k in ("epochs", "checkpoints") if request[k] is not None},
        }
    training = validate_training_request(
        request["family"], request["preset"], request["params"], overrides
    )
    if request["entry"] == "launch":
        workspace = Workspace.open(workspace_root)
        try:
            launch_training(workspace, training, start=False, device=request["device"])
        finally:
            shutil.rmtree(workspace_root, ignore_errors=True)


def tree_snapshot(root: Path, skip: tuple[Path, ...]) -> set[str]:
    """Relative paths under root (ignoring .git, .venv, caches and the `skip` folders)."""
    found = set()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [
            d
            for d in dirs
            if d not in (".git", ".venv", "__pycache__", ".ruff_cache") and here / d not in skip
        ]
        found.update(str((here / name).relative_to(root)) for name in files + dirs)
    return found


def run(examples: int, data_dir: Path) -> tuple[Tally, list[str]]:
    """Generate and check `examples` inputs; returns the tally and any file outside."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(data_dir / "hypothesis")  # its cache is ours, not a service's
    workspace = data_dir / "workspace"
    private_tmp = data_dir / "system-tmp"
    private_tmp.mkdir(parents=True, exist_ok=True)
    saved_tmp, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = os.environ["TMPDIR"] = str(private_tmp)
    before = tree_snapshot(REPO, skip=(data_dir.resolve(),))
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(requests())
    def check(request: dict) -> None:
        try:
            call_entry(request, workspace / str(tally.counts["inputs"]))
        except Exception as exc:  # noqa: BLE001 - classifying every outcome is the point
            tally.record(request, exc)
        else:
            tally.record(request, None)

    try:
        while tally.counts["inputs"] < examples:  # hypothesis may stop short of max_examples
            check()
    finally:
        tempfile.tempdir = saved_tmp
        os.environ.pop("TMPDIR") if saved_env is None else os.environ.update(TMPDIR=saved_env)
        set_hypothesis_home_dir(None)
    outside = [f"{private_tmp}/{p}" for p in sorted(tree_snapshot(private_tmp, ()))]
    outside += [f"{REPO}/{p}" for p in sorted(tree_snapshot(REPO, (data_dir.resolve(),)) - before)]
    return tally, outside


def table(tally: Tally, outside: list[str]) -> str:
    """The markdown table the battery prints."""
    counts = tally.counts
    rows = [
        ("inputs", counts["inputs"]),
        ("accepted", counts["accepted"]),
        ("refused with a clear error", counts["refused"]),
        ("refused with an unclear ValidationError", counts["unclear"]),
        ("unexpected errors (other exception types)", counts["unexpected"]),
        ("files written outside the workspace", len(outside)),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'outcome'.ljust(width)} | count |", f"|{'-' * (width + 2)}|------:|"]
    lines += [f"| {name.ljust(width)} | {value:5d} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the generated inputs and print the table; non-zero exit on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="number of inputs")
    parser.add_argument("--data-dir", help="scratch folder (default: a new temp folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="miscope-inputs-") as scratch:
        data_dir = Path(args.data_dir or scratch).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        tally, outside = run(args.examples, data_dir)
    print(table(tally, outside))
    for line in (tally.unexpected + tally.unclear)[:10] + outside[:10]:
        print(f"- {line[:400]}")
    share = tally.counts["refused"] / max(1, tally.counts["inputs"])
    print(
        f"\ninputs={tally.counts['inputs']} refused_share={share:.2f} "
        f"unexpected={tally.counts['unexpected'] + tally.counts['unclear']} "
        f"outside={len(outside)}"
    )
    failed = tally.counts["unexpected"] or tally.counts["unclear"] or outside
    return 1 if failed or math.isnan(share) else 0


if __name__ == "__main__":
    raise SystemExit(main())
