"""Durations in words, as the trainer's and the evaluation's time estimates show them."""
from __future__ import annotations


def duration_words(seconds: float) -> str:
    """``seconds`` in words a person reads at a glance: 40 s, 12 min, 3.4 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
