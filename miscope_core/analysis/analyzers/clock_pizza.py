"""Clock or Pizza: Zhong et al. (2023)'s gradient symmetricity and distance irrelevance.

`algorithm.clock_pizza` (per epoch, needs the model). Context: `n_tokens`, `probe_labels`,
`readout_position`. Definitions (CALIBRATION.md §3, §7 item 8; `fjzzq2002/pizza`
`code/eval-main.ipynb`):
- gradient symmetricity: for `n_triples` seeded random (a, b, c) (numpy default_rng(seed), drawn
  without replacement from the p^3 triples), the gradient of the readout logit of class c with
  respect to the embedding vector of a (position 0) and of b (position 1) of the input
  [a, b, =]; the cosine of the two gradients; the mean over the triples. Pizza ~ 1, Clock lower.
- distance irrelevance: M[(a + b) mod p, (a - b) mod p] = the correct-class logit of (a, b);
  DI = mean over columns (distance d) of the std over rows (sum s), divided by the std of all
  entries. 1 when the logit ignores a - b (Clock), small when it depends on it (Pizza).
Outputs: `gradient_symmetricity` [] float64, `distance_irrelevance` [] float64,
`triple_cosines` [n_triples] float32, `correct_logit_grid` [p, p] float32 (M, rows sum s,
columns distance d). Summary: the two scalars per epoch.
The forward pass is miscope_core.models.functional's on the bridge's state dict (checked equal
to the bridge by tests/models/test_functional.py), with the token embeddings as the leaf.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer


def random_triples(p: int, n_triples: int, seed: int) -> np.ndarray:
    """n distinct (a, b, c) triples in 0..p-1, seeded, shape [n, 3]."""
    n = min(n_triples, p**3)
    flat = np.random.default_rng(seed).choice(p**3, size=n, replace=False)
    return np.stack([flat // (p * p), (flat // p) % p, flat % p], axis=1)


def cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity (0 where a row is zero)."""
    norms = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    return np.where(norms > 0, (x * y).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)


def embedding_gradients(weights, cfg, tokens, classes):
    """Gradients of logit[class] w.r.t. the embeddings at positions 0 and 1: two [n, d] arrays."""
    import torch

    from miscope_core.models.functional import forward_from_embeddings

    with torch.enable_grad():
        embedded = weights["embed.weight"][tokens].detach().clone().requires_grad_(True)
        logits = forward_from_embeddings(weights, cfg, embedded, last_only=True)
        picked = logits.gather(1, classes[:, None]).sum()
        (grad,) = torch.autograd.grad(picked, embedded)
    grad = grad.detach().double().cpu().numpy()
    return grad[:, 0], grad[:, 1]


def gradient_symmetricity_of(weights, cfg, p: int, n_triples: int, seed: int):
    """(mean cosine, per-triple cosines) for seeded random (a, b, c)."""
    import torch

    triples = random_triples(p, n_triples, seed)
    device = weights["embed.weight"].device
    tokens = torch.tensor(
        np.column_stack([triples[:, :2], np.full(len(triples), p)]), dtype=torch.long, device=device
    )
    classes = torch.tensor(triples[:, 2], dtype=torch.long, device=device)
    grad_a, grad_b = embedding_gradients(weights, cfg, tokens, classes)
    cosines = cosine_rows(grad_a, grad_b)
    return float(cosines.mean()), cosines


def sum_distance_grid(correct_logits: np.ndarray, p: int) -> np.ndarray:
    """M[(a+b) mod p, (a-b) mod p] from correct-class logits on the a-major p x p grid."""
    a, b = np.divmod(np.arange(p * p), p)
    grid = np.zeros((p, p))
    grid[(a + b) % p, (a - b) % p] = correct_logits
    return grid


def distance_irrelevance_of(grid: np.ndarray) -> float:
    """Mean over distance columns of the std over sums, over the std of all entries."""
    total = float(grid.std())
    return float(grid.std(axis=0).mean() / total) if total > 0 else 1.0


def grid_correct_logits(weights, cfg, p: int, labels: np.ndarray, position: int) -> np.ndarray:
    """Correct-class readout logit for every (a, b) of the a-major grid."""
    import torch

    from miscope_core.models.functional import forward_logits

    a, b = np.divmod(np.arange(p * p), p)
    device = weights["embed.weight"].device
    tokens = torch.tensor(np.column_stack([a, b, np.full(p * p, p)]), device=device)
    last = position in (-1, tokens.shape[1] - 1)
    logits = forward_logits(weights, cfg, tokens, last_only=last)
    logits = (logits if last else logits[:, position]).double().cpu().numpy()
    return logits[np.arange(p * p), np.asarray(labels, dtype=np.int64)]


def compute_clock_pizza(inputs: EpochInputs, n_triples: int = 100, seed: int = 42):
    """Gradient symmetricity and distance irrelevance of one checkpoint."""
    if inputs.model is None:
        raise ValueError("algorithm.clock_pizza needs the model (needs_model=True)")
    weights = {k: v.detach() for k, v in inputs.model.state_dict().items()}
    p = int(inputs.context["n_tokens"])
    symmetricity, cosines = gradient_symmetricity_of(weights, inputs.config, p, n_triples, seed)
    correct = grid_correct_logits(
        weights,
        inputs.config,
        p,
        inputs.context["probe_labels"],
        int(inputs.context["readout_position"]),
    )
    grid = sum_distance_grid(correct, p)
    return {
        "gradient_symmetricity": np.float64(symmetricity),
        "distance_irrelevance": np.float64(distance_irrelevance_of(grid)),
        "triple_cosines": cosines.astype(np.float32),
        "correct_logit_grid": grid.astype(np.float32),
    }


def summarize_clock_pizza(arrays, **_params):
    """The two scalars."""
    return {k: np.float64(arrays[k]) for k in ("gradient_symmetricity", "distance_irrelevance")}


register_analyzer(
    AnalyzerSpec(
        name="algorithm.clock_pizza",
        description="Clock vs Pizza (Zhong et al. 2023): gradient symmetricity (cosine of the "
        "logit gradients w.r.t. the two input embeddings) and distance irrelevance.",
        kind=PER_EPOCH,
        compute=compute_clock_pizza,
        outputs=(
            "gradient_symmetricity",
            "distance_irrelevance",
            "triple_cosines",
            "correct_logit_grid",
        ),
        context_keys=("n_tokens", "probe_labels", "readout_position", "probe_grid_shape"),
        params={"n_triples": 100, "seed": 42},
        summarize=summarize_clock_pizza,
        summary_outputs=("gradient_symmetricity", "distance_irrelevance"),
        needs_model=True,
        source="Zhong, Liu, Tegmark, Andreas 2023, The Clock and the Pizza (NeurIPS), metric "
        "definitions of fjzzq2002/pizza code/eval-main.ipynb; CALIBRATION.md §3, §7.8",
    )
)
