"""Futures of any clip from a trained run: :class:`Predictor`.

>>> from svg import Predictor
>>> predictor = Predictor.from_run("runs/smmnist")          # a run folder or a checkpoint file
>>> futures = predictor.predict(frames, n_future=10, n_samples=5, seed=0)
>>> futures.shape                                          # (5, n_past + 10, C, S, S) in [0, 1]

Frames of any size are brought to the model's size and channels as
:mod:`data_loaders.videos.files` does (the shorter side scaled and the centre kept, or squashed).
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

from data_loaders.videos.files import as_frames, fit_frames
from core.errors import UserError

from core.devices import pick_device
from svg.checkpoints import load_model


class Predictor:
    """A trained SVG-LP model ready to sample futures of clips.

    Attributes: ``model`` (the SVG in eval mode), ``config`` (the run's Config), ``checkpoint``
    (its path), ``step`` (its training step), ``device``.
    """

    def __init__(self, model, config, checkpoint: str, step: int, device: torch.device):
        self.model, self.config, self.checkpoint, self.step = model, config, checkpoint, step
        self.device = device

    @classmethod
    def from_run(cls, path: str, device: Union[str, torch.device] = "auto",
                 raw_weights: bool = False) -> "Predictor":
        """Load a run folder (its best.pt, else its latest ckpt_*.pt) or a checkpoint file onto
        ``device`` (auto | cpu | cuda | cuda:N): the moving average of its weights when training
        kept one (``train.ema``), the live weights with ``raw_weights``."""
        dev = device if isinstance(device, torch.device) else pick_device(device)
        model, cfg, ckpt, step = load_model(path, dev, raw_weights)
        return cls(model, cfg, ckpt, step, dev)

    @property
    def image_size(self) -> int:
        """Frame height and width the model takes (S)."""
        return self.model.image_size

    @property
    def channels(self) -> int:
        """Channels the model takes: 1 grey, 3 colour."""
        return self.model.cfg.channels

    @property
    def n_past(self) -> int:
        """Context frames the model was trained with."""
        return self.model.cfg.n_past

    def prepare(self, frames, resize: str = "crop") -> torch.Tensor:
        """Frames as the model takes them: (T, C, S, S) float32 in [0, 1] on the model's device.

        frames : (T, H, W) or (T, H, W, C) NumPy array (C = 1 or 3), uint8 or float in [0, 1], or
        a (T, C, H, W) float tensor in [0, 1]; any H, W. resize : ``crop`` or ``squash``.
        """
        if torch.is_tensor(frames):
            if frames.dim() != 4 or not frames.is_floating_point():
                raise UserError(f"a tensor of frames must be (T, C, H, W) float in [0, 1], got "
                                f"{frames.dtype} of shape {tuple(frames.shape)}")
            array = as_frames(frames.detach().float().cpu().permute(0, 2, 3, 1).numpy(), "frames",
                              keep_float=True)
        elif isinstance(frames, np.ndarray):
            array = as_frames(frames, "frames", keep_float=True)
        else:
            raise UserError(f"frames must be a NumPy array or a torch tensor, got "
                            f"{type(frames).__name__}")
        fitted = fit_frames(array, self.image_size, self.channels, resize)
        x = torch.from_numpy(np.ascontiguousarray(fitted)).permute(0, 3, 1, 2)
        x = x.float() / 255 if fitted.dtype == np.uint8 else x.float()
        return x.to(self.device)

    @torch.no_grad()
    def predict(self, frames, n_future: int, n_samples: int = 1, seed: Optional[int] = None,
                n_past: Optional[int] = None, resize: str = "crop") -> torch.Tensor:
        """Sample ``n_samples`` futures of ``n_future`` frames after the clip's last frames.

        Parameters
        ----------
        frames : (T, H, W) or (T, H, W, C) uint8 NumPy array, or (T, C, H, W) float tensor in
            [0, 1], of any size (see :meth:`prepare`); T ≥ n_past.
        n_future, n_samples : frames to predict and futures to draw (each ≥ 1).
        seed : seeds the samples (the same seed, the same futures); None draws fresh ones.
        n_past : context frames K, the last K of ``frames`` (default: the model's n_past).
        resize : ``crop`` (shorter side to S, centre kept) or ``squash``.

        Returns
        -------
        (n_samples, K + n_future, C, S, S) float32 tensor in [0, 1] on the CPU; the first K frames
        are the context as the model saw it.
        """
        k = self.n_past if n_past is None else n_past
        for name, value in (("n_past", k), ("n_future", n_future), ("n_samples", n_samples)):
            if int(value) != value or value < 1:
                raise UserError(f"{name} = {value}: must be a whole number of at least 1")
        if len(frames) < k:
            raise UserError(f"the clip has {len(frames)} frames; it needs at least n_past = {k} "
                            f"(the context)")
        context = self.prepare(frames[len(frames) - k:], resize).unsqueeze(0)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(int(seed))
        return self.model.generate(context, n_future, n_samples, generator=generator)[:, 0].float().cpu()
