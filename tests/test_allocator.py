"""glibc malloc tuning for the training loop."""

import sys

import pytest

from miscope_core.allocator import retain_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_thresholds_apply_on_linux_and_once():
    assert retain_freed_memory() is True
    assert retain_freed_memory() is True  # cached: a second call changes nothing
