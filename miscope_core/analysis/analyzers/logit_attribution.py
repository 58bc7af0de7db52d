"""Logit attribution per frequency: the logits on cos/sin(w_k(a+b-c)), whole and per component.

Nanda et al. 2023 (§4.3 and the released notebook) find logits ≈ Σ_k α_k cos(w_k(a+b−c)), with
the key frequencies explaining ≥ 90% of the per-input-centred logit variance once grokked.

Notation: Z [n_probe, C] the readout logits over the a-major (a, b) grid (C = n_tokens classes),
Z_c = Z minus each input's mean over classes; for frequency k with basis rows (c_k, s_k) and the
unit sum directions D_cos, D_sin of progress.logit_projections (cos/sin(w_k(a+b)) on the grid),
the unit "cubes" u_k = (D_cos (x) c_k + D_sin (x) s_k)/sqrt2 ∝ cos(w_k(a+b−c)) and
v_k = (D_sin (x) c_k − D_cos (x) s_k)/sqrt2 ∝ sin(w_k(a+b−c)). They are orthonormal and have zero
mean over c, so <Z, u_k> = <Z_c, u_k>. Amplitudes α_k = <Z, u_k>/sqrt(n_probe C / 2) and
β_k = <Z, v_k>/sqrt(n_probe C / 2), so Z_c ≈ Σ α_k cos(w_k(a+b−c)) + β_k sin(w_k(a+b−c)).

`logits.frequency_attribution` (per epoch; context `token_basis`, `token_basis_frequency`,
`probe_grid_shape`, `readout_position`; hooks `hook_unembed`, `blocks.{l}.attn.hook_z`,
`blocks.{l}.mlp.hook_post`; weights W_O, W_out, W_U):
  cos_coefficients, sin_coefficients [n_freq] float64   α_k, β_k of the logits
  centred_variance [] float64                           mean of Z_c^2
  variance_explained [n_freq] float64                   (<Z,u_k>^2 + <Z,v_k>^2) / ||Z_c||^2
  cos_variance_explained [n_freq] float64               <Z,u_k>^2 / ||Z_c||^2 (the paper's form)
  head_cos_coefficients, head_sin_coefficients [L, H, n_freq] float32: the same amplitudes of
      each head's direct logit contribution z_h W_O[l, h] W_U
  neuron_cos_coefficients, neuron_sin_coefficients [L, d_mlp, n_freq] float16 (MLP): of each
      neuron's direct contribution post_n W_out[l, n] W_U (clusters sum them: it is linear)
  summary: cos_coefficients, sin_coefficients, variance_explained [n_epochs, n_freq],
      centred_variance [n_epochs], head_amplitude [n_epochs, L, H, n_freq] = sqrt(α^2 + β^2).

`logits.key_frequency_attribution` (cross-epoch; depends on logits.frequency_attribution,
progress.measures, progress.logit_projections):
  key_frequencies [n_key] int16            progress.measures' key set (one definition)
  key_variance_explained [n]               Σ_{k in K} variance_explained_k (NaN: no key set)
  key_cos_variance_explained [n]           Σ_{k in K} cos_variance_explained_k
  single_frequency_excluded_loss [n, n_freq]  cross-entropy on the training rows with only
      frequency k's cos/sin(w_k(a+b)) components removed (Nanda et al. App. C, the notebook's
      excluded_loss_2D), rebuilt like progress.measures' excluded loss
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import basis_and_frequencies, frequency_values
from miscope_core.analysis.analyzers.logit_projections import grid_sum_directions, readout_logits
from miscope_core.analysis.analyzers.progress_measures import cross_entropy, rebuild_train_logits
from miscope_core.analysis.inputs import EpochInputs, EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, PER_EPOCH, AnalyzerSpec, register_analyzer

NAME = "logits.frequency_attribution"
CONTEXT = ("token_basis", "token_basis_frequency", "probe_grid_shape", "readout_position")


def cube_indices(basis_freq: np.ndarray, direction_k: np.ndarray) -> np.ndarray:
    """Per frequency k: (cos direction, sin direction, cos row, sin row) indices -> [n_freq, 4]."""
    rows = []
    for k in frequency_values(basis_freq):
        directions, basis_rows = np.flatnonzero(direction_k == k), np.flatnonzero(basis_freq == k)
        if len(directions) != 2 or len(basis_rows) != 2:
            raise ValueError(
                f"Frequency {k} has {len(basis_rows)} basis row(s); logit attribution needs a "
                "(cos, sin) pair for every frequency (an odd number of tokens)"
            )
        rows.append([*directions, *basis_rows])
    return np.asarray(rows, dtype=np.int64)


def cube_projections(on_grid: np.ndarray, readout: np.ndarray, index: np.ndarray):
    """<X_u, u_k>, <X_u, v_k> of components X_u = sum_r act_ur (x) readout_ur.

    on_grid [n_dirs, U, r] = D @ act (each component's activations in sum directions),
    readout [U, r, n_basis] = their class readouts in basis coordinates -> two [U, n_freq].
    """
    dcos, dsin, fcos, fsin = (index[:, i] for i in range(4))
    a_cos, a_sin = on_grid[dcos].transpose(1, 2, 0), on_grid[dsin].transpose(1, 2, 0)
    r_cos, r_sin = readout[..., fcos], readout[..., fsin]  # [U, r, n_freq]
    cos_part = (a_cos * r_cos + a_sin * r_sin).sum(axis=1)
    sin_part = (a_sin * r_cos - a_cos * r_sin).sum(axis=1)
    return cos_part / np.sqrt(2), sin_part / np.sqrt(2)


def attribution_setup(context, n_classes: int):
    """(sum directions [n_dirs, n_probe], basis [n_basis, n_tokens], cube index [n_freq, 4])."""
    basis, frequencies = basis_and_frequencies(context)
    if n_classes != basis.shape[1]:
        raise ValueError(
            f"Logit attribution needs one class per token: {n_classes} classes, "
            f"{basis.shape[1]} tokens in the basis"
        )
    directions, direction_k = grid_sum_directions(context)
    return directions, basis, cube_indices(frequencies, direction_k)


def logit_amplitudes(logits: np.ndarray, directions, basis, index) -> dict[str, np.ndarray]:
    """α, β, centred variance and explained fractions of a logit table [n_probe, C]."""
    on_grid = (directions @ logits)[:, None, :]
    cos_proj, sin_proj = (x[0] for x in cube_projections(on_grid, basis.T[None], index))
    centred = logits - logits.mean(axis=1, keepdims=True)
    total = float(np.sum(centred**2))
    scale = np.sqrt(logits.size / 2)
    safe = total if total > 0 else 1.0
    return {
        "cos_coefficients": cos_proj / scale,
        "sin_coefficients": sin_proj / scale,
        "centred_variance": np.float64(total / logits.size),
        "variance_explained": (cos_proj**2 + sin_proj**2) / safe,
        "cos_variance_explained": cos_proj**2 / safe,
    }


def component_amplitudes(inputs: EpochInputs, hook: str, readouts, setup, dtype):
    """α, β of the direct logit contributions of one hook's components, per layer.

    The hook's activation at the readout position is [n_probe, U, r] (heads: hook_z; neurons:
    hook_post with r = 1); readouts[layer] [U, r, C] maps it to the logits -> two [L, U, n_freq].
    """
    directions, basis, index = setup
    position = int(inputs.context["readout_position"])
    scale = np.sqrt(directions.shape[1] * basis.shape[1] / 2)
    cos_all, sin_all = [], []
    for layer in range(inputs.config.n_layers):
        act = inputs.activation(hook.format(layer=layer))[:, position].astype(np.float64)
        act = act.reshape(act.shape[0], readouts[layer].shape[0], -1)
        on_grid = np.tensordot(directions, act, axes=(1, 0))  # [n_dirs, U, r]
        c, s = cube_projections(on_grid, readouts[layer] @ basis.T, index)
        cos_all.append(c / scale)
        sin_all.append(s / scale)
    return np.asarray(cos_all, dtype), np.asarray(sin_all, dtype)


def head_readouts(inputs: EpochInputs) -> np.ndarray:
    """W_O[l, h] W_U per layer and head -> [L, H, d_head, C]."""
    w_u = inputs.weight("W_U").astype(np.float64)
    return inputs.weight("W_O").astype(np.float64) @ w_u


def neuron_readouts(inputs: EpochInputs) -> np.ndarray:
    """W_out[l] W_U per layer, one row per neuron -> [L, d_mlp, 1, C]."""
    w_u = inputs.weight("W_U").astype(np.float64)
    return (inputs.weight("W_out").astype(np.float64) @ w_u)[:, :, None, :]


def compute_frequency_attribution(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Frequency amplitudes of the logits, of each head and of each neuron at this checkpoint."""
    logits = readout_logits(inputs)
    directions, basis, index = attribution_setup(inputs.context, logits.shape[1])
    result = logit_amplitudes(logits, directions, basis, index)
    setup = (directions, basis, index)
    cos_h, sin_h = component_amplitudes(
        inputs, "blocks.{layer}.attn.hook_z", head_readouts(inputs), setup, np.float32
    )
    result.update({"head_cos_coefficients": cos_h, "head_sin_coefficients": sin_h})
    if not inputs.config.attn_only:
        cos_n, sin_n = component_amplitudes(
            inputs, "blocks.{layer}.mlp.hook_post", neuron_readouts(inputs), setup, np.float16
        )
        result.update({"neuron_cos_coefficients": cos_n, "neuron_sin_coefficients": sin_n})
    return result


def summarize_frequency_attribution(arrays, **_) -> dict[str, np.ndarray]:
    """Logit amplitudes, explained variance and per-head amplitude per checkpoint."""
    head = np.hypot(
        arrays["head_cos_coefficients"].astype(np.float64),
        arrays["head_sin_coefficients"].astype(np.float64),
    )
    keys = ("cos_coefficients", "sin_coefficients", "variance_explained", "centred_variance")
    return {**{key: arrays[key] for key in keys}, "head_amplitude": head.astype(np.float32)}


def single_frequency_excluded_losses(series: EpochSeries) -> np.ndarray:
    """Train-row loss with one frequency's sum components removed, per checkpoint -> [n, n_freq]."""
    directions, direction_k = grid_sum_directions(series.context)
    train_mask = np.asarray(series.context["probe_train_mask"], dtype=bool)
    labels = np.asarray(series.context["probe_labels"], dtype=np.int64)[train_mask]
    train_rows = directions[:, train_mask]
    ks = frequency_values(np.asarray(series.context["token_basis_frequency"]))
    losses = []
    for _, arrays in series.iter("progress.logit_projections"):
        full = rebuild_train_logits(arrays, train_rows)
        coefficients = arrays["sum_projections"].astype(np.float64)
        row = []
        for k in ks:
            mine = direction_k == k
            row.append(cross_entropy(full - train_rows[mine].T @ coefficients[mine], labels))
        losses.append(row)
    return np.asarray(losses, dtype=np.float64)


def compute_key_frequency_attribution(series: EpochSeries) -> dict[str, np.ndarray]:
    """Variance explained by the key frequencies and single-frequency excluded loss over time."""
    summary = series.summary(NAME)
    keys = np.asarray(series.store.load_cross_epoch("progress.measures")["key_frequencies"])
    ks = frequency_values(np.asarray(series.context["token_basis_frequency"]))
    is_key = np.isin(ks, keys)
    cos_share = np.stack([series.load(NAME, e)["cos_variance_explained"] for e in series.epochs])
    missing = np.full(len(series.epochs), np.nan)
    return {
        "epochs": np.asarray(series.epochs),
        "key_frequencies": keys.astype(np.int16),
        "key_variance_explained": summary["variance_explained"][:, is_key].sum(axis=1)
        if is_key.any()
        else missing,
        "key_cos_variance_explained": cos_share[:, is_key].sum(axis=1) if is_key.any() else missing,
        "single_frequency_excluded_loss": single_frequency_excluded_losses(series),
    }


register_analyzer(
    AnalyzerSpec(
        name=NAME,
        description="Amplitudes of the logits on cos/sin(w_k(a+b-c)) for every frequency, the "
        "share of centred logit variance each explains, and the same for every head's and "
        "neuron's direct logit contribution.",
        kind=PER_EPOCH,
        compute=compute_frequency_attribution,
        outputs=(
            "cos_coefficients",
            "sin_coefficients",
            "centred_variance",
            "variance_explained",
            "cos_variance_explained",
            "head_cos_coefficients",
            "head_sin_coefficients",
            "neuron_cos_coefficients",
            "neuron_sin_coefficients",
        ),
        mlp_outputs=("neuron_cos_coefficients", "neuron_sin_coefficients"),
        hooks=("hook_unembed", "blocks.{layer}.attn.hook_z", "blocks.{layer}.mlp.hook_post"),
        weights=("W_O", "W_out", "W_U"),
        context_keys=CONTEXT,
        summarize=summarize_frequency_attribution,
        summary_outputs=(
            "cos_coefficients",
            "sin_coefficients",
            "variance_explained",
            "centred_variance",
            "head_amplitude",
        ),
        source="Nanda et al. 2023 §4.3 (logits ≈ Σ α_k cos(w_k(a+b−c)), 95% of the variance); "
        "released notebook (cos cube coefficients); CALIBRATION §1.5 item 5, §7.6",
    )
)

register_analyzer(
    AnalyzerSpec(
        name="logits.key_frequency_attribution",
        description="Share of the centred logit variance explained by the key frequencies over "
        "training, and the excluded loss of each single frequency.",
        kind=CROSS_EPOCH,
        compute=compute_key_frequency_attribution,
        outputs=(
            "key_frequencies",
            "key_variance_explained",
            "key_cos_variance_explained",
            "single_frequency_excluded_loss",
        ),
        context_keys=(*CONTEXT, "probe_labels", "probe_train_mask"),
        depends_on=(NAME, "progress.measures", "progress.logit_projections"),
        source="Nanda et al. 2023 §4.3 and App. C (excluded loss of one frequency at a time, "
        "notebook excluded_loss_2D); CALIBRATION §7.6",
    )
)
