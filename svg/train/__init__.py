"""Training: the loop (:mod:`.loop`), one optimisation step (:mod:`.step`), the batches it is fed
(:mod:`.batches`), checkpoints and loading a run's model (:mod:`.checkpoint`), resume
(:mod:`.resume`), the log (:mod:`.log`) and validation with rollouts (:mod:`.validation`)."""
from .loop import train

__all__ = ["train"]
