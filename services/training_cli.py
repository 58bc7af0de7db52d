"""Terminal front end of training and analysis: progress bars over the core calls."""

from __future__ import annotations

from tqdm import tqdm


def run_training_command(args, params: dict, overrides: dict) -> int:
    """Resolve the spec, train with a progress bar, optionally analyze."""
    from miscope_core.families import get_family
    from miscope_core.training.schedule import resolve_checkpoint_epochs
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace

    family = get_family(args.family)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.checkpoints is not None:
        overrides["checkpoints"] = args.checkpoints
    resolved, config = family.resolve(args.preset, params, overrides)
    spec = VariantSpec(family.name, resolved, config)
    resolve_checkpoint_epochs(config.checkpoints, config.epochs,
                              lambda n: family.default_checkpoints(resolved, n))
    workspace = Workspace.open(args.data_dir)
    target = workspace.variant_paths(family.name, spec.variant_id).root
    print(f"Variant {spec.variant_id} -> {target}")
    with tqdm(total=config.epochs + 1, unit="epoch", dynamic_ncols=True) as bar:
        def report(progress):
            bar.n = progress.epoch + 1
            bar.set_postfix(train_loss=f"{progress.metrics.get('train_loss', float('nan')):.3g}",
                            test_acc=f"{progress.metrics.get('test_accuracy', float('nan')):.3f}",
                            refresh=False)
            bar.refresh() if progress.epoch % 25 == 0 else None

        result = train_variant(spec, workspace, device=args.device, on_progress=report)
    if result.status == "already_complete":
        print(f"{spec.variant_id} is already trained to epoch {result.epochs_completed}; "
              f"pass a larger --epochs to extend it")
    else:
        print(f"{result.status}: {spec.variant_id}, {len(result.checkpoint_epochs)} checkpoints")
    if getattr(args, "analyze", False):
        return _analyze(result.paths, None, {}, args.device)
    return 0


def run_analysis_command(args, raw_params: dict) -> int:
    """Analyze a variant with progress bars."""
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(args.data_dir)
    paths = workspace.locate(args.variant)
    names = [n.strip() for n in args.analyzers.split(",")] if args.analyzers else None
    params: dict[str, dict] = {}
    for key, value in raw_params.items():
        analyzer, _, name = key.rpartition(".")
        if not analyzer:
            raise ValueError(f"--param '{key}' must be ANALYZER.NAME=VALUE")
        params.setdefault(analyzer, {})[name] = _number(value)
    return _analyze(paths, names, params, args.device)


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _analyze(paths, names, params, device) -> int:
    from miscope_core.analysis.pipeline import run_analysis

    bars: dict[str, tqdm] = {}

    def report(progress):
        bar = bars.get(progress.stage)
        if bar is None:
            bar = bars[progress.stage] = tqdm(total=progress.total, desc=progress.stage,
                                              unit="step", dynamic_ncols=True)
        bar.n = progress.done
        bar.set_postfix_str(progress.message, refresh=True)

    report_ = run_analysis(paths, names, params, device=device, on_progress=report)
    for bar in bars.values():
        bar.close()
    for name, reason in report_.skipped.items():
        print(f"skipped {name}: {reason}")
    for path in report_.recovered:
        print(f"recomputed damaged artifact {path}")
    print(f"{report_.status}: {report_.work_done} artifacts written in {report_.seconds:.1f}s "
          f"({'nothing to do, all fresh' if report_.work_done == 0 else 'incremental'})")
    return 0
