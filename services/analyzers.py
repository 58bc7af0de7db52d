"""Analyzer catalog queries for the front ends (plain data; importing it loads no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalyzerInfo:
    """What a picker shows about one analyzer."""

    name: str
    description: str
    kind: str
    in_default_battery: bool


def describe_analyzers() -> list[AnalyzerInfo]:
    """Every registered analyzer, sorted by name."""
    from miscope_core.analysis.registry import list_analyzers

    return [
        AnalyzerInfo(a.name, a.description, a.kind, a.in_default_battery) for a in list_analyzers()
    ]
