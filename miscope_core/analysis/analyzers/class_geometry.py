"""Representation geometry: per output class, centroids, radii and dimensionality.

`representations.class_geometry` (per epoch). Context: `probe_labels` (class of each probe row,
0..C-1), `readout_position`, and `token_basis` / `token_basis_frequency` (the Fourier alignment
reads the class axis in the token basis, so C must equal n_tokens). Sites, at the readout
position of every layer: resid_pre, resid_mid, resid_post (d_model) and mlp_post (d_mlp);
resid_mid and mlp_post exist only in models with MLPs. For site S (all float32, layers first):
  S.centroid_pcs [L, C, 3]     class centroids mu_c projected on their top-3 principal axes
  S.radii [L, C]               sqrt(mean ||x - mu_c||^2) over the class's rows
  S.class_dimensionality [L, C]  participation ratio of the class covariance spectrum
  S.snr [L]                    mean_c ||mu_c - mu||^2 / mean_c radius_c^2
  S.circularity [L]            (lambda2 / lambda1) * max(0, 1 - CV of the planar radii):
                               1 for centroids evenly spread on a circle in their top-2 plane
  S.fourier_alignment [L]      share of the top-2 centroid coordinates' power (class axis in
                               the token basis) in one frequency; S.fourier_frequency [L] int16
  S.applicable [L] bool         False where the site's activation is the same for every probe
                               row (e.g. resid_pre of layer 0 at the readout position of modular
                               addition holds only the '=' token's embedding): no class geometry
                               exists there; snr / circularity / alignment are NaN, not "SNR = inf"
Everything uses Gram matrices (C x C between centroids, n_c x n_c within a class), never
d x d covariance eigendecompositions. Summary: S.snr, S.circularity, S.fourier_alignment.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import (
    basis_and_frequencies,
    frequency_membership,
    frequency_values,
)
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.pca import pca_of_rows
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

SITES = {
    "resid_pre": "blocks.{layer}.hook_resid_pre",
    "resid_mid": "blocks.{layer}.hook_resid_mid",
    "resid_post": "blocks.{layer}.hook_resid_post",
    "mlp_post": "blocks.{layer}.mlp.hook_post",
}
MLP_SITES = ("resid_mid", "mlp_post")  # attention-only blocks have neither hook
FIELDS = (
    "centroid_pcs",
    "radii",
    "class_dimensionality",
    "snr",
    "circularity",
    "fourier_alignment",
    "fourier_frequency",
    "applicable",
)
SUMMARY_FIELDS = ("snr", "circularity", "fourier_alignment", "applicable")
# A site whose activations vary by less than this (std over probe rows, max over features) is
# constant: its classes cannot differ, so its geometry is not applicable.
CONSTANT_STD = 1e-6


def centroid_pca(centroids: np.ndarray, n_components: int = 3):
    """(sign-fixed projections [C, n], eigenvalues [C]) of mean-centred centroids."""
    return pca_of_rows(centroids, n_components)


def circularity(planar: np.ndarray, eigvals: np.ndarray) -> float:
    """Isotropy of the top-2 plane times evenness of the planar radii."""
    if eigvals[0] <= 0:
        return 0.0
    radii = np.linalg.norm(planar, axis=1)
    cv = radii.std() / radii.mean() if radii.mean() > 0 else 1.0
    return float(eigvals[1] / eigvals[0] * max(0.0, 1.0 - cv))


def fourier_alignment(planar: np.ndarray, basis: np.ndarray, frequencies: np.ndarray):
    """(largest single-frequency share of the planar coordinates' power, its k)."""
    power = np.square(basis @ planar).sum(axis=1) @ frequency_membership(frequencies)
    total = power[1:].sum()
    if total <= 0:
        return 0.0, 0
    best = int(np.argmax(power[1:]))
    return float(power[1 + best] / total), int(frequency_values(frequencies)[best])


def class_statistics(acts: np.ndarray, labels: np.ndarray, n_classes: int):
    """(centroids [C, d], radii [C], class participation ratios [C])."""
    centroids = np.zeros((n_classes, acts.shape[1]))
    radii = np.zeros(n_classes)
    dims = np.zeros(n_classes)
    for c in range(n_classes):
        members = acts[labels == c]
        if len(members) == 0:
            continue
        centroids[c] = members.mean(axis=0)
        centred = members - centroids[c]
        gram = centred @ centred.T / len(members)
        radii[c] = np.sqrt(max(np.trace(gram), 0.0))
        frobenius = np.sum(np.square(gram))
        dims[c] = np.trace(gram) ** 2 / frobenius if frobenius > 0 else 0.0
    return centroids, radii, dims


def site_geometry(acts, labels, n_classes, basis, frequencies) -> dict[str, np.ndarray]:
    """Every field of one site and layer (NaN measures where the site is constant)."""
    centroids, radii, dims = class_statistics(acts, labels, n_classes)
    if float(np.max(acts.std(axis=0), initial=0.0)) <= CONSTANT_STD:
        return {
            "centroid_pcs": np.zeros((n_classes, 3)),
            "radii": radii,
            "class_dimensionality": dims,
            "snr": np.nan,
            "circularity": np.nan,
            "fourier_alignment": np.nan,
            "fourier_frequency": 0,
            "applicable": False,
        }
    projections, eigvals = centroid_pca(centroids)
    spread = np.mean(np.sum(np.square(centroids - centroids.mean(axis=0)), axis=1))
    noise = np.mean(np.square(radii))
    alignment, k = fourier_alignment(projections[:, :2], basis, frequencies)
    return {
        "centroid_pcs": projections,
        "radii": radii,
        "class_dimensionality": dims,
        "snr": spread / noise if noise > 0 else np.inf,
        "circularity": circularity(projections[:, :2], eigvals),
        "fourier_alignment": alignment,
        "fourier_frequency": k,
        "applicable": True,
    }


def compute_class_geometry(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Class geometry at every site and layer."""
    basis, frequencies = basis_and_frequencies(inputs.context)
    labels = np.asarray(inputs.context["probe_labels"], dtype=np.int64)
    n_classes = basis.shape[1]
    position = int(inputs.context["readout_position"])
    sites = [s for s in SITES if not (inputs.config.attn_only and s in MLP_SITES)]
    result = {}
    for site in sites:
        per_layer = [
            site_geometry(
                inputs.activation(SITES[site].format(layer=layer))[:, position].astype(np.float64),
                labels,
                n_classes,
                basis,
                frequencies,
            )
            for layer in range(inputs.config.n_layers)
        ]
        for field in FIELDS:
            dtype = {"fourier_frequency": np.int16, "applicable": bool}.get(field, np.float32)
            result[f"{site}.{field}"] = np.stack([np.asarray(g[field]) for g in per_layer]).astype(
                dtype
            )
    return result


def summarize_class_geometry(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Signal-to-noise, circularity and Fourier alignment per site and layer."""
    return {key: value for key, value in arrays.items() if key.split(".", 1)[1] in SUMMARY_FIELDS}


register_analyzer(
    AnalyzerSpec(
        name="representations.class_geometry",
        version=3,  # 3: constant sites marked not applicable; 2: PCA signs fixed
        description="Per output class: centroids, radii and dimensionality at resid_pre/mid/post "
        "and the MLP hidden layer; signal-to-noise, circularity, Fourier alignment.",
        kind=PER_EPOCH,
        compute=compute_class_geometry,
        outputs=tuple(f"{s}.{f}" for s in SITES for f in FIELDS),
        mlp_outputs=tuple(f"{s}.{f}" for s in MLP_SITES for f in FIELDS),
        hooks=tuple(SITES.values()),
        context_keys=("probe_labels", "readout_position", "token_basis", "token_basis_frequency"),
        summarize=summarize_class_geometry,
        summary_outputs=tuple(f"{s}.{f}" for s in SITES for f in SUMMARY_FIELDS),
        source="Class-manifold geometry (centroid spread / radius SNR); ring circularity as in "
        "Liu et al. 2022 and Zhong et al. 2023",
    )
)
