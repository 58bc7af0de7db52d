"""Short, helpful errors shared by every registry and lookup."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_SUGGESTIONS = 5


def unknown_name_error(
    kind: str, name: str, known: Iterable[str], listing: str = "", limit: int = MAX_SUGGESTIONS
) -> KeyError:
    """A KeyError for a misspelled name: up to `limit` close matches and where to see them all.

    A short list of known names is shown in full; a long one (73 views) only by a pointer, so the
    message stays readable on a terminal, in a notebook and in a download error.
    """
    known = sorted(set(known))
    kinds = f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"
    close = difflib.get_close_matches(name, known, n=limit, cutoff=0.5)
    if close:
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?"
    elif not known:
        hint = f" No {kinds} exist yet."
    elif len(known) <= limit:
        hint = f" Known {kinds}: {', '.join(known)}."
    else:
        hint = " No close match."
    where = f" See {listing}." if listing else ""
    return KeyError(f"Unknown {kind} '{name}'.{hint}{where}")


# How the shared context keys read in a sentence ("needs the family's copy positions").
CONTEXT_PHRASES = {
    "token_basis": "interpretive token basis",
    "token_basis_frequency": "basis frequencies",
    "probe_grid_shape": "probe grid (a, b)",
    "probe_labels": "probe labels",
    "probe_train_mask": "train/test split of the probe",
    "readout_position": "readout position",
    "n_tokens": "token count",
    "induction_source_position": "copy positions",
    "previous_token_position": "previous-token positions",
    "repeated_half_mask": "repeated-half mask",
}


def missing_context_reason(missing: Iterable[str], family: str = "this family") -> str:
    """Why something cannot run, in words: "needs the family's copy positions (context key
    'induction_source_position'), which modulo_addition does not provide"."""
    missing = list(missing)
    words = [CONTEXT_PHRASES.get(key, key.replace("_", " ")) for key in missing]
    phrase = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    keys = ", ".join(f"'{key}'" for key in missing)
    plural = "s" if len(missing) > 1 else ""
    return (
        f"needs the family's {phrase} (context key{plural} {keys}), which {family} does not provide"
    )
