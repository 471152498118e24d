"""Evaluation: best-of-N sampling and scoring (:mod:`.evaluate`, :mod:`.scoring`), the per-frame
metrics (:mod:`.metrics`) and their registry (:mod:`.registry`), FVD glue (:mod:`.fvd`) and the
written report (:mod:`.report`)."""
from .evaluate import evaluate

__all__ = ["evaluate"]
