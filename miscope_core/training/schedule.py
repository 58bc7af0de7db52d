"""Checkpoint schedules: the family default, every-N, or an explicit list of epochs."""

from __future__ import annotations

from collections.abc import Callable

from miscope_core.families import ValidationError

SCHEDULE_HELP = "'default', 'every:N' (e.g. every:100) or a comma list of epochs (e.g. 0,50,200)"


def resolve_checkpoint_epochs(
    spec: str, epochs: int, family_default: Callable[[int], list[int]]
) -> list[int]:
    """Turn a schedule spec into sorted epochs within [0, epochs], always with both ends."""
    text = str(spec).strip().lower()
    if text in ("", "default"):
        chosen = family_default(epochs)
    elif text.startswith("every"):
        chosen = list(range(0, epochs + 1, _parse_every(text)))
    else:
        chosen = _parse_explicit(text, epochs)
    return sorted({0, epochs, *chosen})


def _parse_every(text: str) -> int:
    raw = text.removeprefix("every").lstrip(":= ").strip()
    try:
        step = int(raw)
    except ValueError:
        raise ValidationError(
            f"Checkpoint schedule '{text}' is not valid; use {SCHEDULE_HELP}"
        ) from None
    if step < 1:
        raise ValidationError(f"Checkpoint interval must be >= 1, got {step}")
    return step


def _parse_explicit(text: str, epochs: int) -> list[int]:
    try:
        chosen = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValidationError(
            f"Checkpoint schedule '{text}' is not valid; use {SCHEDULE_HELP}"
        ) from None
    outside = [e for e in chosen if not 0 <= e <= epochs]
    if outside:
        raise ValidationError(
            f"Checkpoint epochs {outside} lie outside the run (0..{epochs}); "
            f"raise --epochs or drop them"
        )
    return chosen
