"""The analysis pipeline: every checkpoint through one forward pass, every selected analyzer.

Only the checkpoint varies within a run: the probe, the family context and each analyzer's
parameters are fixed and recorded in artifacts/manifest.json. Work is incremental: an
(analyzer, epoch) pair is recomputed only when its file is missing or damaged (size or content
hash differs from the manifest), or when the analyzer's fingerprint (name, version,
parameters), the probe hash or the checkpoint hash changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from miscope_core.analysis.artifacts import ArtifactStore, artifact_intact
from miscope_core.analysis.inputs import EpochInputs, EpochSeries, TrainingData, training_data
from miscope_core.analysis.registry import (
    CROSS_EPOCH,
    PER_EPOCH,
    AnalyzerSpec,
    default_battery,
    get_analyzer,
    with_dependencies,
)
from miscope_core.families import get_family
from miscope_core.io import CorruptFileError, clean_stale_temps, file_content_hash, load_npz
from miscope_core.training.checkpoints import (
    checkpoint_path,
    file_hash,
    list_checkpoint_epochs,
    load_checkpoint,
)
from miscope_core.variants import VariantPaths, VariantSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisProgress:
    """A progress report: `done` of `total` checkpoints, then the derived tiers."""

    stage: str
    done: int
    total: int
    message: str


@dataclass
class AnalysisReport:
    """What a pipeline run did."""

    variant_id: str
    status: str = "complete"
    computed: dict[str, list[int]] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def work_done(self) -> int:
        """Number of per-epoch files plus derived tiers written."""
        return sum(len(v) for v in self.computed.values()) + len(self.derived)


def run_analysis(
    paths: VariantPaths,
    analyzers: list[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    device: str | None = None,
    on_progress: Callable[[AnalysisProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AnalysisReport:
    """Analyze every checkpoint of a variant with the selected analyzers (default battery)."""
    from miscope_core.allocator import retain_freed_memory

    retain_freed_memory()
    clean_stale_temps(paths.root)
    return _Pipeline(paths, analyzers, params or {}, device).run(
        on_progress or (lambda _: None), should_stop or (lambda: False)
    )


class _Pipeline:
    def __init__(self, paths, analyzers, params, device):
        from miscope_core.io import read_json

        self.paths = paths
        record = read_json(paths.variant_json, expect=dict)
        self.spec = VariantSpec.from_dict(record)
        self.family = get_family(self.spec.family)
        self.cfg = self.family.model_config(self.spec.params)
        self.probe = self.family.build_probe(self.spec.params)
        self.context = self.family.context(self.spec.params)
        self.store = ArtifactStore(paths.artifacts, self.spec.variant_id)
        self.device = device
        self.report = AnalysisReport(self.spec.variant_id)
        self._training: TrainingData | None = None
        self.selected = self._select(analyzers or default_battery(), params)
        self.epochs = list_checkpoint_epochs(paths.checkpoints)
        if not self.epochs:
            raise FileNotFoundError(
                f"Variant {self.spec.variant_id} has no checkpoints in "
                f"{paths.checkpoints}; train it first"
            )

    def _select(self, names, params) -> list[tuple[AnalyzerSpec, dict[str, Any]]]:
        unknown_params = sorted(set(params) - set(names))
        if unknown_params:
            raise ValueError(f"Parameters given for analyzers not selected: {unknown_params}")
        selected = []
        keys = frozenset(self.context)
        for name in with_dependencies(list(names)):
            spec = get_analyzer(name)
            reason = spec.not_applicable_reason(keys, self.cfg, self.spec.family)
            if reason:
                self.report.skipped[name] = reason
                continue
            blocked = [dep for dep in spec.depends_on if dep in self.report.skipped]
            if blocked:
                self.report.skipped[name] = (
                    f"needs {blocked[0]}, which is skipped ({self.report.skipped[blocked[0]]})"
                )
                continue
            selected.append((spec, spec.resolve_params(params.get(name))))
        return selected

    # --- planning -----------------------------------------------------------------------
    def _stale_epochs(self, manifest, spec, params, checkpoint_hashes) -> list[int]:
        entry = manifest["analyzers"].get(spec.name, {})
        fresh = (
            entry.get("fingerprint") == spec.fingerprint(params)
            and entry.get("probe_hash") == self.probe.hash
        )
        recorded = entry.get("epochs", {}) if fresh else {}
        adopted = (
            self._adopt_files(spec, checkpoint_hashes)
            if manifest.get("rebuilt_from_files") and not entry
            else {}
        )
        stale = []
        for epoch in self.epochs:
            item = recorded.get(str(epoch)) or adopted.get(str(epoch))
            path = self.store.epoch_path(spec.name, epoch)
            if item is None or item.get("checkpoint_hash") != checkpoint_hashes[epoch]:
                stale.append(epoch)
            elif not artifact_intact(path, item):
                self.report.recovered.append(str(path))
                log.warning("Recomputing missing or damaged artifact %s", path)
                stale.append(epoch)
        if adopted:
            manifest["analyzers"][spec.name] = {
                "epochs": adopted,
                "probe_hash": self.probe.hash,
                "fingerprint": spec.fingerprint(params),
            }
        return stale

    def _adopt_files(self, spec, checkpoint_hashes) -> dict[str, dict]:
        """Records for the readable per-epoch files of `spec` when the manifest had to be
        rebuilt: they are taken as computed by the current analyzer from these checkpoints."""
        adopted = {}
        for epoch in self.store.epochs_with(spec.name):
            record = {"checkpoint_hash": checkpoint_hashes.get(epoch)}
            if epoch in checkpoint_hashes and artifact_intact(
                self.store.epoch_path(spec.name, epoch), record
            ):
                adopted[str(epoch)] = record
        return adopted

    def run(self, on_progress, should_stop) -> AnalysisReport:
        started = time.monotonic()
        self.metrics = self._metrics()
        manifest = self.store.read_manifest()
        if self.store.manifest_damage is not None:
            self.report.recovered.append(str(self.store.manifest_path))
        hashes = {e: file_hash(checkpoint_path(self.paths.checkpoints, e)) for e in self.epochs}
        per_epoch = [(s, p) for s, p in self.selected if s.kind == PER_EPOCH]
        plan = {s.name: self._stale_epochs(manifest, s, p, hashes) for s, p in per_epoch}
        for spec, params in per_epoch:
            self._reset_entry(manifest, spec, params, keep=spec.fingerprint(params))
        if not self._compute_epochs(manifest, per_epoch, plan, hashes, on_progress, should_stop):
            self.report.status = "cancelled"
        else:
            self._derive(manifest, per_epoch, hashes, on_progress)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _reset_entry(self, manifest, spec, params, keep: str) -> dict:
        entry = manifest["analyzers"].setdefault(spec.name, {})
        if entry.get("fingerprint") != keep or entry.get("probe_hash") != self.probe.hash:
            entry.clear()
        entry.update(
            fingerprint=keep,
            params=params,
            probe_hash=self.probe.hash,
            version=spec.version,
            kind=spec.kind,
            description=spec.description,
        )
        entry.setdefault("epochs", {})
        return entry

    # --- per-epoch tier -----------------------------------------------------------------
    def _compute_epochs(self, manifest, per_epoch, plan, hashes, on_progress, should_stop):
        todo = sorted({e for epochs in plan.values() for e in epochs})
        if not todo:
            return True
        bridge = self._bridge()
        for done, epoch in enumerate(todo):
            if should_stop():
                self.store.write_manifest(manifest)
                return False
            wanted = [(s, p) for s, p in per_epoch if epoch in plan[s.name]]
            self._analyze_checkpoint(bridge, epoch, wanted, manifest, hashes[epoch])
            self.store.write_manifest(manifest)
            on_progress(
                AnalysisProgress(
                    "checkpoints", done + 1, len(todo), f"epoch {epoch}: {len(wanted)} analyzers"
                )
            )
        return True

    def _bridge(self):
        from miscope_core.models.bridge import build_bridge, resolve_device

        self.device = resolve_device(self.device)
        return build_bridge(self.cfg, seed=0, device=self.device).eval()

    def _training_data(self, wanted) -> TrainingData | None:
        """The variant's training set, built once and only for analyzers that need the model."""
        if self._training is None and any(s.needs_model for s, _ in wanted):
            from miscope_core.models.bridge import resolve_device

            device = resolve_device(self.device)
            self._training = training_data(self.family, self.spec, device)
        return self._training

    def _analyze_checkpoint(self, bridge, epoch, wanted, manifest, checkpoint_hash):
        import torch

        state = load_checkpoint(self.paths.checkpoints, epoch)
        bridge.load_state_dict({k: v.to(self.device) for k, v in state.items()})
        hooks = sorted({h for s, _ in wanted for h in s.hook_names(self.cfg)})
        tokens = torch.from_numpy(self.probe.tokens).to(self.device)
        with torch.no_grad():
            if hooks:
                _, cache = bridge.run_with_cache(tokens, names_filter=lambda n: n in hooks)
            else:
                cache = {}
        inputs = EpochInputs(
            epoch,
            self.cfg,
            self.probe,
            self.context,
            cache,
            model=bridge,
            training=self._training_data(wanted),
        )
        for spec, params in wanted:
            with torch.no_grad():
                arrays = spec.compute(inputs, **params)
            _check_outputs(spec, arrays, spec.outputs_for(self.cfg))
            path = self.store.save_epoch(spec.name, epoch, arrays)
            manifest["analyzers"][spec.name]["epochs"][str(epoch)] = {
                "checkpoint_hash": checkpoint_hash,
                "bytes": path.stat().st_size,
                "blake2b": file_content_hash(path),
            }
            self.report.computed.setdefault(spec.name, []).append(epoch)

    # --- summary and cross-epoch tiers --------------------------------------------------
    def _derive(self, manifest, per_epoch, hashes, on_progress):
        for spec, params in per_epoch:
            if spec.summarize is not None:
                self._summarize(manifest, spec, params, hashes)
        cross = [(s, p) for s, p in self.selected if s.kind == CROSS_EPOCH]
        for index, (spec, params) in enumerate(cross):
            self._cross_epoch(manifest, spec, params, hashes)
            on_progress(AnalysisProgress("cross_epoch", index + 1, len(cross), spec.name))
        self.store.write_manifest(manifest)

    def _inputs_digest(self, manifest, names, params, hashes) -> str:
        upstream = {n: manifest["analyzers"].get(n, {}).get("fingerprint") for n in names}
        payload = {
            "epochs": [[e, hashes[e]] for e in self.epochs],
            "upstream": upstream,
            "params": params,
        }
        return hashlib.sha256(
            json.dumps(payload, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]

    def _summarize(self, manifest, spec, params, hashes):
        entry = manifest["analyzers"][spec.name]
        digest = self._inputs_digest(manifest, [spec.name], params, hashes)
        path = self.store.summary_path(spec.name)
        if self._tier_fresh(entry.get("summary", {}), digest, path):
            return
        rows = [
            spec.summarize(self._load_or_recompute(spec, params, e, manifest, hashes), **params)
            for e in self.epochs
        ]
        stacked = {key: np.stack([np.asarray(r[key]) for r in rows]) for key in rows[0]}
        _check_outputs(spec, stacked, spec.summary_outputs_for(self.cfg))
        self.store.save_summary(spec.name, {"epochs": np.array(self.epochs), **stacked})
        entry["summary"] = {"inputs": digest, "blake2b": file_content_hash(path)}
        self.report.derived.append(f"{spec.name}/summary")

    def _load_or_recompute(self, spec, params, epoch, manifest, hashes):
        try:
            return self.store.load_epoch(spec.name, epoch)
        except CorruptFileError as exc:
            log.warning("%s; recomputing it", exc)
            self.report.recovered.append(str(exc.path))
            self._analyze_checkpoint(
                self._bridge(), epoch, [(spec, params)], manifest, hashes[epoch]
            )
            return self.store.load_epoch(spec.name, epoch)

    def _cross_epoch(self, manifest, spec, params, hashes):
        entry = self._reset_entry(manifest, spec, params, keep=spec.fingerprint(params))
        digest = self._inputs_digest(manifest, list(spec.depends_on), params, hashes)
        path = self.store.cross_epoch_path(spec.name)
        if self._tier_fresh(entry.get("cross_epoch", {}), digest, path):
            return
        series = EpochSeries(
            self.epochs,
            self.cfg,
            self.context,
            self.store,
            self.metrics,
            training=self._training_data([(spec, params)]),
            checkpoints=self.paths.checkpoints,
        )
        arrays = spec.compute(series, **params)
        _check_outputs(spec, arrays, spec.outputs_for(self.cfg))
        self.store.save_cross_epoch(spec.name, arrays)
        entry["cross_epoch"] = {
            "inputs": digest,
            "epochs": self.epochs,
            "blake2b": file_content_hash(path),
        }
        self.report.derived.append(f"{spec.name}/cross_epoch")

    def _tier_fresh(self, record: dict, digest: str, path) -> bool:
        """Whether a summary or cross-epoch file is up to date and intact; damage is noted."""
        if record.get("inputs") != digest or not path.exists():
            return False
        if artifact_intact(path, record):
            return True
        log.warning("Recomputing damaged artifact %s", path)
        self.report.recovered.append(str(path))
        return False

    def _metrics(self) -> dict[str, np.ndarray]:
        from miscope_core.metrics_file import read_metrics

        damaged = self.paths.metrics.exists() and not _loads(self.paths.metrics)
        metrics = read_metrics(self.paths, repair=True)  # unrepairable damage raises, named
        if damaged:
            self.report.recovered.append(str(self.paths.metrics))
        return metrics


def _loads(path) -> bool:
    try:
        load_npz(path)
        return True
    except CorruptFileError:
        return False


def _check_outputs(spec: AnalyzerSpec, arrays: Mapping[str, Any], declared) -> None:
    got, want = set(arrays), set(declared)
    if spec.kind == CROSS_EPOCH or declared is spec.summary_outputs:
        got.discard("epochs")
        want.discard("epochs")
    if got != want:
        raise RuntimeError(
            f"Analyzer '{spec.name}' wrote keys {sorted(got)} but declares {sorted(want)}"
        )
