"""Interventions by standard hook names: which component, how it is replaced, what is measured.

A component is a small JSON record (analyzer parameters are JSON):
  {"kind": "head", "layer": 0, "head": 2}                  blocks.{l}.attn.hook_z[..., head, :]
  {"kind": "neurons", "layer": 0, "neurons": [3, 17]}      blocks.{l}.mlp.hook_post[..., neurons]
  {"kind": "residual", "hook": "blocks.0.hook_resid_pre"}  the whole residual stream there
  {"kind": "residual", "hook": ..., "frequencies": [15, 19]}  the subspace of d_model spanned by
      the embedding's Fourier rows F_k W_E (cos k, sin k) of those frequencies, at this epoch
  {"kind": "residual", "hook": ..., "directions": [[...], ...]}  the span of given d_model vectors
and may carry a "label". Methods replace the component's part of the activation, for every
probe row: "zero" (0), "mean" (its mean over the probe rows, per position) or "resample" (its
value on another probe row, a seeded permutation). A subspace is replaced by projection: only
the coordinates along its orthonormal basis change. Metrics: mean cross-entropy (float64) and
accuracy over the probe's scored targets, per metric set (`metric_sets`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from miscope_core.families import ModelConfig

METHODS = ("zero", "mean", "resample")
KINDS = ("head", "neurons", "residual")


def check_method(method: str) -> str:
    """A valid replacement method, or a ValueError naming the valid ones."""
    if method not in METHODS:
        raise ValueError(f"Ablation method must be one of {list(METHODS)}, got {method!r}")
    return method


def default_components(cfg: ModelConfig) -> list[dict[str, Any]]:
    """Every attention head: the components any transformer has."""
    return [
        {"kind": "head", "layer": layer, "head": head}
        for layer in range(cfg.n_layers)
        for head in range(cfg.n_heads)
    ]


def resolve_components(components: Any, cfg: ModelConfig) -> list[dict[str, Any]]:
    """Components from an analyzer parameter ("heads" or a list of records), validated."""
    if components == "heads":
        return default_components(cfg)
    if (
        isinstance(components, str | Mapping)
        or not isinstance(components, Sequence)
        or not all(isinstance(c, Mapping) for c in components)
    ):
        raise ValueError(
            f"components must be 'heads' or a list of component records "
            f"(e.g. {{'kind': 'head', 'layer': 0, 'head': 1}}), got {components!r}"
        )
    return [check_component(dict(c), cfg) for c in components]


def check_component(component: dict[str, Any], cfg: ModelConfig) -> dict[str, Any]:
    """Check one component record against the architecture; the error names the bad field."""
    kind = component.get("kind")
    if kind not in KINDS:
        raise ValueError(f"Component kind must be one of {list(KINDS)}, got {component!r}")
    if kind in ("head", "neurons"):
        _check_index(component, "layer", cfg.n_layers)
    if kind == "head":
        _check_index(component, "head", cfg.n_heads)
    elif kind == "neurons":
        if cfg.attn_only:
            raise ValueError(f"Component {component!r} needs MLP layers; this model has none")
        neurons = component.get("neurons")
        if not isinstance(neurons, list) or not neurons:
            raise ValueError(f"Component {component!r} needs a non-empty 'neurons' list")
        for neuron in neurons:
            _check_index({"neuron": neuron}, "neuron", cfg.d_mlp)
    elif not isinstance(component.get("hook"), str):
        raise ValueError(
            f"Component {component!r} needs a 'hook' such as 'blocks.0.hook_resid_pre'"
        )
    return component


def _check_index(record: Mapping[str, Any], key: str, size: int) -> None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < size:
        raise ValueError(f"{key} must be an integer in 0..{size - 1}, got {value!r}")


def component_label(component: Mapping[str, Any]) -> str:
    """A short readable name ('L0H2', 'L0 neurons x37', 'blocks.0.hook_resid_pre k={15,19}')."""
    if component.get("label"):
        return str(component["label"])
    kind = component["kind"]
    if kind == "head":
        return f"L{component['layer']}H{component['head']}"
    if kind == "neurons":
        return f"L{component['layer']} neurons x{len(component['neurons'])}"
    if component.get("frequencies"):
        keys = ",".join(str(k) for k in component["frequencies"])
        return f"{component['hook']} W_E k={{{keys}}}"
    if component.get("directions"):
        return f"{component['hook']} {len(component['directions'])} directions"
    return component["hook"]


def component_hook(component: Mapping[str, Any]) -> str:
    """The standard hook name where the component is replaced."""
    if component["kind"] == "head":
        return f"blocks.{component['layer']}.attn.hook_z"
    if component["kind"] == "neurons":
        return f"blocks.{component['layer']}.mlp.hook_post"
    return component["hook"]


def residual_basis(component: Mapping[str, Any], model, context) -> Any:
    """Orthonormal basis [d_model, r] of a residual component's subspace (None: all of it)."""
    import torch

    if component.get("frequencies"):
        vectors = embedding_frequency_rows(model, context, component["frequencies"])
    elif component.get("directions"):
        vectors = torch.tensor(component["directions"], dtype=torch.float64)
    else:
        return None
    weight = model.W_E
    if vectors.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"Residual directions must have d_model = {weight.shape[-1]} entries, "
            f"got {tuple(vectors.shape)}"
        )
    q, r = torch.linalg.qr(vectors.T.double())
    keep = r.diagonal().abs() > 1e-10 * max(1.0, float(r.diagonal().abs().max()))
    return q[:, keep].to(device=weight.device, dtype=weight.dtype)


def embedding_frequency_rows(model, context, frequencies: Sequence[int]) -> Any:
    """F_i W_E[:n_tokens] for the cos and sin basis rows i of the given frequencies."""
    import torch

    if "token_basis" not in context:
        raise ValueError(
            "A residual component with 'frequencies' needs the family context 'token_basis' "
            "(e.g. modulo_addition's Fourier basis); this family has none"
        )
    basis = np.asarray(context["token_basis"], dtype=np.float64)
    labels = np.asarray(context["token_basis_frequency"])
    valid = sorted({int(k) for k in labels if k > 0})
    unknown = [k for k in frequencies if k not in valid]
    if unknown:
        raise ValueError(
            f"Frequencies {unknown} are not in the token basis (valid: 1..{valid[-1]})"
        )
    rows = basis[np.isin(labels, list(frequencies))]
    embedding = model.W_E[: basis.shape[1]].detach().double().cpu()
    return torch.from_numpy(rows) @ embedding


def replacement_hook(component, method: str, basis=None, permutation=None) -> Callable:
    """A TransformerLens forward hook that replaces the component's part of the activation."""

    def replace_part(part):
        if method == "zero":
            return part.new_zeros(part.shape)
        if method == "mean":
            return part.mean(dim=0, keepdim=True).expand_as(part)
        return part[permutation]

    def hook(activation, hook=None):
        if component["kind"] == "head":
            out = activation.clone()
            out[:, :, component["head"]] = replace_part(activation[:, :, component["head"]])
            return out
        if component["kind"] == "neurons":
            out = activation.clone()
            index = list(component["neurons"])
            out[..., index] = replace_part(activation[..., index])
            return out
        if basis is None:
            return replace_part(activation)
        coordinates = activation @ basis
        return activation + (replace_part(coordinates) - coordinates) @ basis.T

    return hook


def patch_hook(component, source_activation, basis=None) -> Callable:
    """A forward hook putting the component's part of `source_activation` (the same hook on
    the same probe rows, from another checkpoint) into this forward pass."""

    def hook(activation, hook=None):
        out = activation.clone()
        if component["kind"] == "head":
            out[:, :, component["head"]] = source_activation[:, :, component["head"]]
        elif component["kind"] == "neurons":
            index = list(component["neurons"])
            out[..., index] = source_activation[..., index]
        elif basis is None:
            out = source_activation.clone()
        else:
            out = activation + ((source_activation - activation) @ basis) @ basis.T
        return out

    return hook


# --- what is measured ------------------------------------------------------------------------
def metric_sets(probe, context, n_ctx: int) -> dict[str, np.ndarray]:
    """Named boolean masks [n_probe, n_ctx] of scored targets.

    "train" / "test" split the probe rows by the family's `probe_train_mask` when it has one,
    else "probe" is every scored target; a family's `repeated_half_mask` (positions) adds
    "repeated_half" (in-context copying). Targets are the probe's, -1 where none is scored;
    one target per row is scored at `readout_position`.
    """
    targets = probe_targets(probe, context, n_ctx)
    scored = targets >= 0
    sets: dict[str, np.ndarray] = {}
    if "probe_train_mask" in context:
        train = np.asarray(context["probe_train_mask"], dtype=bool)[:, None]
        sets["train"], sets["test"] = scored & train, scored & ~train
    else:
        sets["probe"] = scored
    if "repeated_half_mask" in context:
        sets["repeated_half"] = scored & np.asarray(context["repeated_half_mask"], bool)[None]
    return sets


def probe_targets(probe, context, n_ctx: int) -> np.ndarray:
    """[n_probe, n_ctx] int64 targets, -1 where nothing is scored."""
    if probe.targets is None:
        raise ValueError("Interventions need probe targets; this family's probe has none")
    targets = np.asarray(probe.targets, dtype=np.int64)
    if targets.ndim == 2:
        return targets
    full = np.full((len(targets), n_ctx), -1, dtype=np.int64)
    full[:, int(context["readout_position"]) % n_ctx] = targets
    return full


def loss_and_accuracy(logits, targets, sets: Mapping[str, np.ndarray]) -> tuple[list, list]:
    """Mean cross-entropy (float64 log-softmax) and accuracy on each metric set."""
    import torch

    log_probs = torch.log_softmax(logits.double(), dim=-1)
    target = torch.as_tensor(targets, device=logits.device).clamp(min=0)
    picked = log_probs.gather(-1, target[..., None])[..., 0].cpu().numpy()
    correct = (logits.argmax(-1) == target).cpu().numpy()
    losses = [float(-picked[mask].mean()) if mask.any() else np.nan for mask in sets.values()]
    accuracies = [float(correct[mask].mean()) if mask.any() else np.nan for mask in sets.values()]
    return losses, accuracies


def run_with_replacements(model, tokens, hooks: list[tuple[str, Callable]]):
    """Logits of the model on tokens with the given (hook name, function) replacements."""
    if not hooks:
        return model(tokens)
    return model.run_with_hooks(tokens, fwd_hooks=hooks)
