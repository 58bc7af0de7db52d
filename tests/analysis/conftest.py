"""Fixtures of the analyzer tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator."""
    return np.random.default_rng(0)
