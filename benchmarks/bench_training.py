"""Training speed: MIScope's trainer vs a plain PyTorch loop of the same architecture.

Both train the quick preset's model (p=59, 40% data, full batch AdamW) in this process,
alternating. MIScope runs with its defaults: the family's checkpoint schedule for the full
3,000-epoch run, train and test metrics every epoch, periodic resume saves. The plain loop is
what a researcher would write first: the TransformerLens model's own forward pass (every
position), the loss at the last position, the same optimizer, no metrics, nothing saved.

    uv run python benchmarks/bench_training.py [--epochs 500] [--rounds 3]

Prints per-round epochs/s and `training_speed_ratio=<miscope epochs/s / plain epochs/s>`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch


def plain_epochs_per_second(spec, epochs: int) -> float:
    """A plain loop: the bridge's forward, loss at the last position, AdamW, no checkpoints."""
    from miscope_core.families import get_family
    from miscope_core.models.bridge import build_bridge

    family = get_family(spec.family)
    cfg = family.model_config(spec.params)
    task = family.make_task(spec.params, "cpu")
    model = build_bridge(cfg, spec.params["seed"])
    weights = dict(model.state_dict(keep_vars=True))
    trainable = [p for name, p in weights.items() if not name.endswith(".bias")]
    for name, param in weights.items():
        param.requires_grad_(not name.endswith(".bias"))
    optimizer = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    batch = task.train
    start = time.perf_counter()
    for _ in range(epochs):
        logits = model(batch.tokens)[:, -1]
        loss = torch.nn.functional.cross_entropy(logits.double(), batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return epochs / (time.perf_counter() - start)


def miscope_epochs_per_second(spec, epochs: int) -> float:
    """MIScope's trainer with its default cadence, stopped (cooperatively) after `epochs`."""
    from miscope_core.training.trainer import train_variant
    from miscope_core.workspace import Workspace

    marks: dict[str, float] = {}

    def on_progress(progress):
        if progress.epoch == 0:
            marks["start"] = time.perf_counter()
        marks["last"] = time.perf_counter()
        marks["epoch"] = progress.epoch

    with tempfile.TemporaryDirectory() as root:
        train_variant(
            spec,
            Workspace.open(root),
            device="cpu",
            on_progress=on_progress,
            should_stop=lambda: marks.get("epoch", -1) >= epochs,
        )
    return marks["epoch"] / (marks["last"] - marks["start"])


def main() -> None:
    """Alternate the two loops and print the ratio of medians."""
    from miscope_core.families import get_family
    from miscope_core.variants import VariantSpec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    family = get_family("modulo_addition")
    params, config = family.resolve("quick")
    spec = VariantSpec("modulo_addition", params, config)
    print(f"threads={torch.get_num_threads()} variant={spec.variant_id} epochs/round={args.epochs}")
    ours, plain = [], []
    for round_index in range(args.rounds):
        plain.append(plain_epochs_per_second(spec, args.epochs))
        ours.append(miscope_epochs_per_second(spec, args.epochs))
        print(
            f"round {round_index}: miscope {ours[-1]:.1f} epochs/s, plain {plain[-1]:.1f} epochs/s",
            flush=True,
        )
    ratio = statistics.median(ours) / statistics.median(plain)
    print(f"miscope_epochs_per_s={statistics.median(ours):.2f}")
    print(f"plain_epochs_per_s={statistics.median(plain):.2f}")
    print(f"training_speed_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
