"""Short, helpful errors shared by every registry and lookup."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_SUGGESTIONS = 5


def unknown_name_error(kind: str, name: str, known: Iterable[str], listing: str = "",
                       limit: int = MAX_SUGGESTIONS) -> KeyError:
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
