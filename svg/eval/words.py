"""How an evaluation's protocol reads in words, the same on the console (``svg evaluate``) and on
the page (``report.html``)."""
from __future__ import annotations

from typing import Any, Dict

#: how the console summary and the page name the weights scored (the protocol's ``weights``)
WEIGHTS_WORDS = {"ema": "the moving average of the weights (train.ema)",
                 "raw": "the live weights (not averaged)"}


def sequences_words(p: Dict[str, Any]) -> str:
    """``"16 videos"``, or ``"32 clips cut from 2 videos"`` when the protocol says they are clips."""
    if p.get("source_videos") is None:
        return f"{p['videos']} videos"
    n = p["source_videos"]
    return f"{p['videos']} clips cut from {n} video{'' if n == 1 else 's'}"
