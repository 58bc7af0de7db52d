"""Heavy work a notebook starts on a variant: densify a window, run an intervention.

Both run in the calling process (torch is imported here, not by `miscope_core.notebook`),
under the variant's write lock, so they never race a dashboard or CLI job on the same
variant. The dashboard and `miscope densify` run the same core functions as durable jobs.
"""

from __future__ import annotations

from typing import Any

from miscope_core.views.source import VariantSource

ACTIONS = ("ablate", "patch")
VIEW_OF_ACTION = {"ablate": "interventions.necessity", "patch": "interventions.patching_matrix"}
ANALYZER_OF_ACTION = {"ablate": "interventions.ablation", "patch": "interventions.patching"}


def densify_variant_window(
    source: VariantSource, start: int, stop: int, every: int, analyze: bool
) -> Any:
    """Densify [start, stop] every `every` epochs; then extend the recorded analyses."""
    from tqdm.auto import tqdm

    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.analysis.recorded import recorded_analyzers
    from miscope_core.locking import variant_write_lock
    from miscope_core.training.densify import densify_variant, plan_densify

    paths = source.paths
    plan = plan_densify(paths, start, stop, every)
    with variant_write_lock(paths.root, owner="notebook densify"):
        with tqdm(total=max(plan.replay_epochs, 1), desc="densify", leave=False) as bar:
            result = densify_variant(
                paths, start, stop, every, on_progress=lambda p: _advance(bar, p.epoch, plan)
            )
        names, params = recorded_analyzers(paths)
        if analyze and result.written and names:
            run_analysis(paths, analyzers=names, params=params)
    return result


def _advance(bar, epoch: int, plan) -> None:
    bar.n = min(max(epoch - plan.replay_from, 0), bar.total)
    bar.refresh()


def run_intervention(
    source: VariantSource,
    action: str,
    component: Any,
    how: str,
    params: dict[str, Any],
) -> str:
    """Run (incrementally) the analyzer of an intervention; returns the view to draw."""
    from miscope_core.analysis.component_sets import named_components
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.families import get_family
    from miscope_core.locking import variant_write_lock

    if action not in ACTIONS:
        raise ValueError(f"action must be one of {list(ACTIONS)}, got {action!r}")
    cfg = get_family(source.family_name).model_config(source.params)
    components = []
    for item in component if isinstance(component, list | tuple) else [component]:
        if isinstance(item, str):  # a named set; unknown names raise with close matches
            components += named_components(source.paths, cfg, item)
        else:
            components.append(item)
    analyzer = ANALYZER_OF_ACTION[action]
    chosen = {"components": components, "method": how, **params}
    with variant_write_lock(source.paths.root, owner=f"notebook {action}"):
        report = run_analysis(source.paths, analyzers=[analyzer], params={analyzer: chosen})
    if analyzer in report.skipped:
        raise ValueError(
            f"{analyzer} cannot run on {source.variant_id}: {report.skipped[analyzer]}"
        )
    return VIEW_OF_ACTION[action]
