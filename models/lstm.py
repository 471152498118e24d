"""Recurrent networks of SVG: the deterministic frame predictor and the Gaussian LSTM.

Both run a whole sequence in one call (``forward``) or one step at a time (``step``); the
recurrent state is always passed in and returned, never stored on the module, so any batch size
works and a module can serve several rollouts at once.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

State = Tuple[torch.Tensor, torch.Tensor]  # (h, c), each (n_layers, B, hidden)


class _EmbeddedLSTM(nn.Module):
    """Linear embedding → stacked LSTM (batch first) → heads defined by subclasses."""

    def __init__(self, input_size: int, hidden_size: int, n_layers: int):
        super().__init__()
        self.input_size, self.hidden_size, self.n_layers = input_size, hidden_size, n_layers
        self.embed = nn.Linear(input_size, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, n_layers, batch_first=True)

    def _run(self, x: torch.Tensor, state: Optional[State]) -> Tuple[torch.Tensor, State]:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__} expects (B, T, {self.input_size}) input, "
                             f"got shape {tuple(x.shape)}")
        e = self.embed(x)
        if e.is_cuda and torch.is_autocast_enabled("cuda"):
            # autocast's cuDNN RNN wrapper casts to fp16 whatever dtype was asked for, and bf16
            # runs have no gradient scaler: the LSTM runs in fp32 instead (it is a small part of
            # the step). On a CPU the LSTM follows autocast (oneDNN computes it in bf16).
            with torch.autocast("cuda", enabled=False):
                h, state = self.lstm(e.float(), None if state is None else
                                     tuple(s.float() for s in state))
            return h, state
        return self.lstm(e, state)


class LSTMPredictor(_EmbeddedLSTM):
    """Deterministic LSTM: x (B, T, input_size) → y (B, T, output_size) in (-1, 1) (tanh)."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 256, n_layers: int = 2):
        super().__init__(input_size, hidden_size, n_layers)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, state: Optional[State] = None) -> Tuple[torch.Tensor, State]:
        """Run a sequence; ``state`` None means zeros. Returns (y, new_state)."""
        h, state = self._run(x, state)
        return torch.tanh(self.out(h)), state

    def step(self, x: torch.Tensor, state: Optional[State] = None) -> Tuple[torch.Tensor, State]:
        """One step: x (B, input_size) → y (B, output_size), new_state."""
        y, state = self.forward(x.unsqueeze(1), state)
        return y.squeeze(1), state


class GaussianLSTM(_EmbeddedLSTM):
    """LSTM with Gaussian output: x (B, T, input_size) → μ, log σ² (B, T, output_size).

    Used for SVG's posterior q(z_t | x_{1:t}) and learned prior p(z_t | x_{1:t-1}); sampling is
    left to the caller so that the noise can be controlled.
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 256, n_layers: int = 1):
        super().__init__(input_size, hidden_size, n_layers)
        self.mu = nn.Linear(hidden_size, output_size)
        self.logvar = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, state: Optional[State] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, State]:
        """Run a sequence; returns (mu, logvar, new_state)."""
        h, state = self._run(x, state)
        return self.mu(h), self.logvar(h), state

    def step(self, x: torch.Tensor, state: Optional[State] = None
             ) -> Tuple[torch.Tensor, torch.Tensor, State]:
        """One step: x (B, input_size) → mu, logvar (B, output_size), new_state."""
        mu, logvar, state = self.forward(x.unsqueeze(1), state)
        return mu.squeeze(1), logvar.squeeze(1), state
