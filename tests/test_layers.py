"""The layer rules of docs/ARCHITECTURE.md §2, checked on the source with `ast`.

Every import statement (top level, inside functions, under TYPE_CHECKING) of every module
under miscope_core/, services/ and app/ is resolved to an absolute dotted name and checked
against the forbidden arrows below. A failure names file:line and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("miscope_core", "services", "app")

# (importer prefix, imported prefix, why the arrow is forbidden)
FORBIDDEN = (
    ("miscope_core", "services", "core is the bottom layer"),
    ("miscope_core", "app", "core is the bottom layer"),
    ("services", "app", "services take and return plain data; front ends call them"),
    (
        "miscope_core.families",
        "miscope_core.analysis",
        "families contribute context; analyzers read it, not the other way round",
    ),
    (
        "miscope_core.analysis",
        "miscope_core.calibration",
        "calibration checks the analyzers; analyzers never depend on the checks",
    ),
    (
        "miscope_core.views",
        "miscope_core.training",
        "views read files; the trainer (and torch) stays out of the view layer",
    ),
    ("app", "torch", "the web process stays light; heavy work runs in job processes"),
    ("app", "transformer_lens", "the web process stays light; heavy work runs in job processes"),
)
# app/ reaches the science only through services/ (services.workspace re-exports the few core
# names a front end needs: Workspace, ValidationError, CorruptFileError). No exceptions.
APP_MAY_IMPORT_FROM_CORE: tuple[str, ...] = ()

# Existing violations still being removed (file, imported module). Must only shrink.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in a file; `from a import b` yields a.b too."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def source_files() -> list[Path]:
    """Every .py file of the three layers."""
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def violations() -> list[tuple[str, int, str, str]]:
    """(file, line, imported module, rule) for every forbidden import statement."""
    found: dict[tuple[str, int, str], str] = {}
    for path in source_files():
        importer = _module_name(path)
        rel = str(path.relative_to(ROOT))
        for line, imported in imports_of(path):
            rules = [
                f"{source} -> {target}: {why}"
                for source, target, why in FORBIDDEN
                if _within(importer, source) and _within(imported, target)
            ]
            if (
                _within(importer, "app")
                and _within(imported, "miscope_core")
                and not any(_within(imported, m) for m in APP_MAY_IMPORT_FROM_CORE)
            ):
                rules.append("app -> miscope_core: app reaches the science through services")
            for rule in rules:  # `from a import b` yields a and a.b: keep the shorter
                key = (rel, line, rule)
                if key not in found or len(imported) < len(found[key]):
                    found[key] = imported
    return sorted((file, line, module, rule) for (file, line, rule), module in found.items())


def test_no_import_runs_up_or_across_the_layers():
    """No forbidden arrow appears, apart from the shrinking allowlist."""
    bad = [v for v in violations() if (v[0], v[2]) not in KNOWN_VIOLATIONS]
    assert not bad, "forbidden imports:\n" + "\n".join(
        f"  {file}:{line} imports {module}  ({rule})" for file, line, module, rule in bad
    )


def test_allowlist_has_no_fixed_entries():
    """An allowlisted violation that no longer occurs must be removed from the list."""
    current = {(v[0], v[2]) for v in violations()}
    assert not KNOWN_VIOLATIONS - current, sorted(KNOWN_VIOLATIONS - current)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("from miscope_core.training.checkpoints import x", "miscope_core.training.checkpoints"),
        ("from ..training import checkpoints", "miscope_core.training"),
        ("import services.jobs", "services.jobs"),
        ("def f():\n    from app.server import serve", "app.server"),
    ],
)
def test_the_checker_sees_every_import_form(tmp_path, monkeypatch, code, expected):
    """Absolute, relative, and function-local imports are all resolved."""
    fake = ROOT / "miscope_core" / "views" / "_layer_probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: code)
    assert expected in {module for _, module in imports_of(fake)}
