"""The notebook entry point: `load_variant(...)` returns a `Variant` that draws catalog views.

    v = load_variant("modulo_addition", prime=59, seed=999)
    v.view("parameter_trajectory").show()
    v.at(1200).view("fourier_norms").export("png")

`Variant` delegates: files to `VariantSource`, drawing to the view catalog, export to
`miscope_core.views.export`. It imports neither torch nor transformer_lens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from miscope_core.views.bound import BoundView
from miscope_core.views.render import ViewAvailability, available_views
from miscope_core.views.source import VariantSource, nearest
from miscope_core.workspace import Workspace


class Variant:
    """A trained variant in a workspace, optionally pinned to an epoch with `.at(epoch)`."""

    def __init__(self, source: VariantSource, epoch: int | None = None):
        self.source = source
        self.epoch = epoch

    @property
    def id(self) -> str:
        """The variant id."""
        return self.source.variant_id

    @property
    def family(self) -> str:
        """The family name."""
        return self.source.family_name

    @property
    def params(self) -> dict[str, Any]:
        """Domain parameters."""
        return dict(self.source.params)

    @property
    def record(self) -> dict[str, Any]:
        """The variant.json record."""
        return self.source.record

    @property
    def epochs(self) -> list[int]:
        """Checkpoint epochs."""
        return self.source.checkpoint_epochs

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        """Per-epoch metrics: epoch, train/test loss and accuracy."""
        return dict(self.source.metrics())

    def at(self, epoch: int) -> Variant:
        """The same variant pinned to the checkpoint nearest `epoch` (stated in view titles)."""
        if not isinstance(epoch, int | np.integer) or isinstance(epoch, bool):
            raise TypeError(f"epoch must be an int, got {epoch!r}; checkpoints: {self.epochs}")
        return Variant(self.source, int(epoch))

    def nearest_checkpoint(self, epoch: int) -> int:
        """The checkpoint epoch closest to `epoch`."""
        return nearest(self.epochs, epoch)

    def view(self, name: str, **params: Any) -> BoundView:
        """A catalog view of this variant (name or alias); per-epoch views default to the last
        checkpoint."""
        return BoundView(self.source, name, self.epoch, **params)

    def densify(self, start: int, stop: int, every: int = 1, analyze: bool = True):
        """Re-train epochs start..stop from the nearest exact resume point, saving a checkpoint
        every `every` epochs (byte-identical to a dense run), then extend the analyses the
        variant has to the new checkpoints. Runs here, under the variant's write lock; the
        dashboard and `miscope densify` run it as a job. Returns a DensifyResult."""
        from miscope_core.notebook_jobs import densify_variant_window

        return densify_variant_window(self.source, start, stop, every, analyze)

    def intervene(
        self, action: str = "ablate", component: Any = "heads", how: str = "mean", **params: Any
    ) -> BoundView:
        """Run an intervention at every checkpoint and return its view: "ablate" (necessity
        curves) or "patch" (cross-checkpoint patching matrix). `component`: "heads",
        "key_frequencies", "frequency_clusters", one component record or a list of them
        (docs/interventions.md); `how`: "zero", "mean" or "resample"."""
        from miscope_core.notebook_jobs import run_intervention

        view = run_intervention(self.source, action, component, how, params)
        return self.view(view)

    def available_views(self) -> list[ViewAvailability]:
        """Every view with whether it can be drawn here and, if not, why."""
        return available_views(self.source)

    def __repr__(self) -> str:
        pinned = "" if self.epoch is None else f", at epoch {self.epoch}"
        return (
            f"<Variant {self.id} ({self.family}), {len(self.epochs)} checkpoints "
            f"{self.epochs[:1] + self.epochs[-1:]}{pinned}>"
        )


def load_variant(name: str, data_dir: str | Path | None = None, **params: Any) -> Variant:
    """A variant by id (`load_variant("p59_seed999_dseed598_tf0.4")`) or by family and
    parameters (`load_variant("modulo_addition", prime=59, seed=999)`)."""
    workspace = Workspace.open(data_dir)
    from miscope_core.families import list_families

    if name in list_families():
        variant_id = match_variant(workspace, name, params)
        return Variant(VariantSource.open(workspace, variant_id, name))
    if params:
        raise TypeError(
            f"'{name}' is not a family ({list_families()}), so parameters "
            f"{sorted(params)} cannot select a variant; pass a family name or "
            f"a variant id alone"
        )
    return Variant(VariantSource.open(workspace, name))


def match_variant(workspace: Workspace, family: str, params: dict[str, Any]) -> str:
    """The one variant of `family` whose parameters include `params`; errors list candidates."""
    from miscope_core.families import get_family

    spec_names = {p.name for p in get_family(family).param_specs}
    unknown = sorted(set(params) - spec_names)
    if unknown:
        raise TypeError(
            f"Unknown parameter(s) {unknown} for family '{family}'; valid: {sorted(spec_names)}"
        )
    candidates = []
    for _, variant_id in workspace.list_variants(family):
        record = workspace.read_variant_record(workspace.variant_paths(family, variant_id))
        if all(record["params"].get(k) == v for k, v in params.items()):
            candidates.append(variant_id)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        known = [v for _, v in workspace.list_variants(family)]
        shown = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
        train = " ".join(f"--param {k}={v}" for k, v in params.items())
        raise KeyError(
            f"No '{family}' variant with {params} in {workspace.root}; known: "
            f"{shown or 'none'} (all: `miscope variants`). Train one: "
            f"`miscope train {family} {train}`"
        )
    shown = ", ".join(candidates[:5]) + (
        f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
    )
    raise KeyError(
        f"Several '{family}' variants match {params}: {shown}; add parameters or pass a variant id"
    )
