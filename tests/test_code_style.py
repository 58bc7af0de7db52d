"""The repository stays `ruff format`-clean and lint-clean, so CI catches style drift."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command", [["format", "--check"], ["check"]], ids=["ruff format", "ruff check"]
)
def test_ruff_passes_on_the_whole_repository(command):
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
