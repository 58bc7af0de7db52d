"""Basis spectra of the weights: which basis components (frequencies) each weight space uses."""

from __future__ import annotations

from miscope_core.views.spectra import register_spectrum_views

register_spectrum_views(
    "embedding.basis_norms",
    "embedding.basis_norms",
    "norms",
    "W_E",
    "Embedding norm per basis component",
    aliases=("embedding_spectrum",),
    history_aliases=("embedding_spectrum_over_training",),
)

SPECTRA = (
    ("W_E", "the token embedding W_E", "Embedding W_E", False, False),
    ("W_U", "the unembedding W_U", "Unembedding W_U", False, False),
    ("W_L", "the neuron-to-logit map W_out·W_U", "Neuron-to-logit map W_L", True, True),
)

for key, what, title, layered, mlp in SPECTRA:
    register_spectrum_views(
        f"weights.basis_spectrum.{key}",
        "weights.basis_spectra",
        key,
        what,
        f"{title}: norm per basis component",
        axis="basis",
        layered=layered,
        requires_mlp=mlp,
    )
    register_spectrum_views(
        f"weights.frequency_spectrum.{key}",
        "weights.frequency_spectra",
        key,
        what,
        f"{title}: norm per frequency",
        axis="frequency",
        layered=layered,
        requires_mlp=mlp,
        aliases=("fourier_norms", "embedding.fourier_norms") if key == "W_E" else (),
        history_aliases=("fourier_norms_over_training",) if key == "W_E" else (),
    )
