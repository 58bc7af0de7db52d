"""The view layer stays light: importing, loading and rendering never import torch or TL."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, env_data_dir: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ)
    if env_data_dir:
        env["MISCOPE_DATA_DIR"] = env_data_dir
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_import_and_render_every_view_without_torch(tiny_variant):
    workspace, paths = tiny_variant
    result = run_python(
        f"""
        import sys
        import miscope_core
        from miscope_core import load_variant, list_families, list_views
        import miscope_core.views
        v = load_variant({paths.root.name!r})
        drawable = {{row.name for row in v.available_views() if row.available}}
        assert len(drawable) > 40, drawable
        for spec in list_views():
            if spec.name in drawable:
                v.view(spec.name).figure()
                v.view(spec.name).to_csv()
        v.available_views()
        list_families()
        heavy = sorted(m for m in ("torch", "transformer_lens") if m in sys.modules)
        print("HEAVY", heavy)
    """,
        str(workspace.root),
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_plain_import_of_miscope_core_is_light():
    result = run_python("""
        import sys, miscope_core
        print(sorted(m for m in ("torch", "transformer_lens", "plotly") if m in sys.modules))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
