"""SVG-LP (Denton & Fergus, 2018) with a pluggable decoder likelihood (σ-VAE by default).

Per step t: the encoder gives h_t (and skip maps); the posterior LSTM reads h_t, the learned prior
LSTM reads h_{t−1}; the frame predictor reads [h_{t−1}, z_t] and its output is decoded with skip
maps into x̂_t. Training is teacher-forced, so :meth:`SVG.loss` has no Python loop over time: one
encoder call over all B·T frames, one call per LSTM over the sequence, one decoder call over all
predicted frames.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import torch
from torch import nn

from .config import PRIORS, SKIPS, ModelConfig
from core.errors import UserError
from .heads import HEADS, HeadOutput, compose, head_channels, zero_head_channels
from .init import init_weights
from .kl import gaussian_kl
from .likelihoods import LIKELIHOODS, at_least_float32, build_likelihood
from .lstm import GaussianLSTM, LSTMPredictor
from .backbones import build_backbone, get_backbone
from .skip import Rows, SharedSkips


@dataclass
class SVGOutput:
    """Per-sequence terms of the objective; every field is (B,) unless stated.

    total : nll + β·kl, the negative ELBO (nats per sequence).
    nll : decoder negative log-likelihood summed over the predicted frames 2..T.
    kl : KL(q ‖ p) summed over time steps and latent dimensions.
    sigma : root-mean-square decoder σ of each sequence.
    effective_beta : mean σ² (the KL weight of an equivalent unit-variance Gaussian decoder).
    n_dims : values per sequence that the NLL sums over, (T − 1)·C·H·W.
    x_hat : (B, T − 1, C, H, W) predicted means in [0, 1] for frames 2..T.
    branch_nll : the motion head's branches scored on their own (``model.score_branches``),
        summed over branches; not part of the ELBO. None when nothing is scored.
    """
    total: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor
    sigma: torch.Tensor
    effective_beta: torch.Tensor
    n_dims: int
    x_hat: torch.Tensor
    branch_nll: Optional[torch.Tensor] = None

    def objective(self) -> torch.Tensor:
        """Scalar to minimise: ``total`` (plus ``branch_nll``) averaged over the batch."""
        if self.branch_nll is None:
            return self.total.mean()
        return (self.total + self.branch_nll).mean()


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode for the block, then restore each one's own flag."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


def _randn(like: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


def _sample(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return mu + torch.exp(0.5 * logvar) * eps


class SVG(nn.Module):
    """SVG-LP / SVG-FP video predictor.

    Parameters
    ----------
    cfg : ModelConfig (backbone, widths, prior, context length, skip mode, likelihood, β).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.prior not in PRIORS:
            raise UserError(f"unknown prior {cfg.prior!r}; choose one of {PRIORS}")
        if cfg.skip not in SKIPS:
            raise UserError(f"unknown skip mode {cfg.skip!r}; choose one of {SKIPS}")
        if cfg.n_past < 1:
            raise UserError(f"n_past must be >= 1, got {cfg.n_past}")
        if cfg.skip == "original" and cfg.n_past < 2:
            raise UserError(f"skip='original' freezes the skip maps at frame n_past-2 (0-based), "
                            f"so it needs n_past >= 2; got n_past={cfg.n_past}")
        if cfg.head not in HEADS:
            raise UserError(f"unknown head {cfg.head!r}; choose one of {HEADS}")
        if cfg.channels < 1:
            raise UserError(f"channels must be >= 1, got {cfg.channels}")
        LIKELIHOODS.lookup(cfg.likelihood.name).check_model_config(cfg)
        self.cfg = cfg
        self.image_size = get_backbone(cfg.backbone).image_size
        self.likelihood = build_likelihood(cfg.likelihood)
        frame_channels = cfg.channels * (2 if self.likelihood.predicts_log_sigma else 1)
        out_channels = frame_channels + head_channels(cfg.head)
        self.encoder, self.decoder = build_backbone(cfg.backbone, cfg.g_dim, cfg.channels, out_channels,
                                                   cfg.width, cfg.backbone_options)
        self.predictor = LSTMPredictor(cfg.g_dim + cfg.z_dim, cfg.g_dim, cfg.rnn_size,
                                       cfg.predictor_layers)
        self.posterior = GaussianLSTM(cfg.g_dim, cfg.z_dim, cfg.rnn_size, cfg.posterior_layers)
        self.prior = (GaussianLSTM(cfg.g_dim, cfg.z_dim, cfg.rnn_size, cfg.prior_layers)
                      if cfg.prior == "learned" else None)
        self.apply(init_weights)
        if cfg.head != "pixels":   # start near copy-last-frame: zero flow, mask at its offset
            zero_head_channels(self.decoder, frame_channels)

    # ----------------------------------------------------------------------------------- checks
    def check_frames(self, x: torch.Tensor, min_len: int, what: str = "x") -> None:
        """Raise ``UserError`` unless x is (B, T ≥ min_len, C, S, S) float in [0, 1].

        The value range is checked for CPU tensors only: on an accelerator it would cost a host
        synchronisation per call (the trainer checks each batch's range with the step's one
        synchronisation, :func:`svg.train.step.train_step`)."""
        c, s = self.cfg.channels, self.image_size
        if x.dim() != 5:
            raise UserError(f"{what} must be (B, T, C, H, W) = (B, T, {c}, {s}, {s}); got rank "
                            f"{x.dim()} with shape {tuple(x.shape)}")
        if tuple(x.shape[2:]) != (c, s, s):
            raise UserError(f"{what} frames must be (C, H, W) = ({c}, {s}, {s}) for backbone "
                            f"{self.cfg.backbone!r} with channels={c}; got {tuple(x.shape[2:])}")
        if x.shape[1] < min_len:
            raise UserError(f"{what} has {x.shape[1]} frames; need at least {min_len}")
        if not x.is_floating_point():
            raise UserError(f"{what} must be a float tensor in [0, 1], got dtype {x.dtype}")
        if x.device.type != "cpu":
            return   # reading the range back would stall the device; the trainer checks it
        lo, hi = torch.aminmax(x)
        if not (lo >= 0 and hi <= 1):  # also false for NaN
            raise UserError(f"{what} values must lie in [0, 1]; got range [{lo.item():.4g}, "
                            f"{hi.item():.4g}] (convert uint8 frames with x.float() / 255)")

    # ------------------------------------------------------------------------------ components
    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Encode all frames in one call: x (B, T, C, H, W) → h (B, T, g_dim), skips [(B, T, c, h, w)]."""
        b, t = x.shape[:2]
        h, skips = self.encoder(x.flatten(0, 1))
        return h.view(b, t, -1), [s.view(b, t, *s.shape[1:]) for s in skips]

    def decode(self, g: torch.Tensor, skips: List[torch.Tensor], rows: Rows = None,
               prev: Optional[torch.Tensor] = None) -> HeadOutput:
        """Decode N frames in one call.

        g : (N, g_dim); skips : encoder maps [(M, c, h, w)]; rows : the skip maps of each frame,
        a ``models.skip.SharedSkips`` layout or an (N,) long index (None: M = N); prev : (N, C,
        H, W) the previous frames x_{t−1} in [0, 1], which the motion heads reuse (unused by
        ``pixels``). Returns the head's :class:`models.heads.HeadOutput`: the mean (N, C, H, W)
        in [0, 1], log σ of the same shape for a per-pixel likelihood (else None), and the
        head's appearance, mask and flow.
        """
        return compose(self.cfg.head, self.decoder(g, skips, rows), prev, self.cfg.channels,
                       self.likelihood.predicts_log_sigma)

    def skip_index(self, seq_len: int) -> List[int]:
        """Frame whose skip maps decode step t = 1..T−1 (0-based): t−1, frozen at n_past−1
        (``last_context``, the paper), at n_past−2 (``original``, what the original SVG code did)
        or never frozen (``previous``, the original's ``--last_frame_skip``)."""
        if self.cfg.skip == "previous":
            return list(range(seq_len - 1))
        last = self.cfg.n_past - (2 if self.cfg.skip == "original" else 1)
        return [min(t - 1, last) for t in range(1, seq_len)]

    def _teacher_forced(self, x: torch.Tensor, eps: Optional[torch.Tensor],
                        generator: Optional[torch.Generator]):
        h, skips = self.encode(x)
        mu_q, logvar_q, _ = self.posterior(h[:, 1:])
        if eps is None:
            eps = self.posterior_noise(x, generator)
        elif eps.shape != mu_q.shape:
            raise ValueError(f"eps must have shape {tuple(mu_q.shape)} (B, T-1, z_dim), got "
                             f"{tuple(eps.shape)}")
        z = _sample(mu_q, logvar_q, eps.to(mu_q.dtype))
        mu_p = logvar_p = None
        if self.prior is not None:
            mu_p, logvar_p, _ = self.prior(h[:, :-1])
        g, _ = self.predictor(torch.cat([h[:, :-1], z], -1))
        b, t_len = x.shape[:2]
        idx = self.skip_index(t_len)
        used = idx[-1] + 1   # skip maps of frames 0..used-1 are needed
        skips = [s[:, :used].flatten(0, 1) for s in skips]
        # frames share skip maps: frame (b, t) reads map (b, idx[t]) = (b, min(t, used − 1))
        rows = None if used == t_len - 1 else SharedSkips(1, t_len - 1, used)
        # under teacher forcing x_{t−1} is the ground truth
        out = self.decode(g.flatten(0, 1), skips, rows, x[:, :-1].flatten(0, 1))
        unflat = (lambda t: None if t is None else t.view(b, t_len - 1, *t.shape[1:]))
        branches = [unflat(t) for t in out.branches()] if self.cfg.score_branches else []
        return unflat(out.mean), unflat(out.log_sigma), (mu_q, logvar_q, mu_p, logvar_p), branches

    # ------------------------------------------------------------------------------ public API
    def loss(self, x: torch.Tensor, eps: Optional[torch.Tensor] = None,
             generator: Optional[torch.Generator] = None) -> SVGOutput:
        """Negative ELBO of a batch of sequences, per sequence, over predicted frames 2..T.

        Parameters
        ----------
        x : (B, T, C, H, W) float in [0, 1], T ≥ n_past + 1.
        eps : optional (B, T − 1, z_dim) standard-normal noise for the posterior samples.
        generator : optional torch.Generator used when ``eps`` is not given.
        """
        self.check_frames(x, self.cfg.n_past + 1)
        mean, log_sigma, (mu_q, logvar_q, mu_p, logvar_p), branches = self._teacher_forced(
            x, eps, generator)
        dec = self.likelihood.nll(x[:, 1:], mean, log_sigma)
        # SLAMP's training signal: each branch must predict the frame on its own too, so the
        # appearance learns at full strength where the mask hides it (docs/model.md)
        branch_nll = None
        if branches:
            branch_nll = sum(self.likelihood.nll(x[:, 1:], p, log_sigma).nll for p in branches)
        kl = gaussian_kl(*(None if t is None else at_least_float32(t)
                           for t in (mu_q, logvar_q, mu_p, logvar_p))).flatten(1).sum(1)
        return SVGOutput(total=dec.nll + self.cfg.beta * kl, nll=dec.nll, kl=kl,
                         sigma=dec.sigma_per_sample().detach(),
                         effective_beta=dec.effective_beta().detach(),
                         n_dims=x[0, 1:].numel(), x_hat=mean, branch_nll=branch_nll)

    def posterior_noise(self, x: torch.Tensor, generator: Optional[torch.Generator] = None
                        ) -> torch.Tensor:
        """The standard-normal noise :meth:`loss` draws for the posterior samples of frames x
        (B, T, C, H, W) when given no ``eps``: (B, T − 1, z_dim) on x's device, in the dtype of the
        posterior's μ (autocast's under autocast, as where it is called, except for a float64
        model, which autocast leaves alone; else the model's), from ``generator`` (None: the
        global stream). Drawing it ahead and slicing it along the batch (gradient accumulation)
        gives each part the noise of one large batch."""
        kind, dtype = x.device.type, self.posterior.mu.weight.dtype
        if dtype != torch.float64 and torch.is_autocast_enabled(kind):
            dtype = torch.get_autocast_dtype(kind)
        return torch.randn((x.shape[0], x.shape[1] - 1, self.cfg.z_dim), generator=generator,
                           device=x.device, dtype=dtype)

    def forward(self, x: torch.Tensor, eps: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> SVGOutput:
        """Same as :meth:`loss` (so that DistributedDataParallel wraps the training pass)."""
        return self.loss(x, eps, generator)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Posterior rollout (BatchNorm in eval mode): the context frames of x, then the frames
        decoded with teacher forcing and z sampled from the posterior.

        x : (B, T, C, H, W) float in [0, 1], T ≥ n_past + 1. Returns (B, T, C, H, W) in [0, 1].
        """
        self.check_frames(x, self.cfg.n_past + 1)
        with eval_mode(self):
            mean = self._teacher_forced(x, None, generator)[0].to(x.dtype)
        n = self.cfg.n_past
        return torch.cat([x[:, :n], mean[:, n - 1:]], 1)

    @torch.no_grad()
    def _prior_z(self, h_prev: torch.Tensor, state, generator: Optional[torch.Generator],
                 eps: Optional[torch.Tensor] = None):
        """One step's z from the learned prior given h_{t−1} (or N(0, I) for SVG-FP), and the
        prior LSTM's new state; ``eps`` (rows, z_dim) is the noise, else drawn from ``generator``."""
        if self.prior is None:
            if eps is not None:
                return eps.to(h_prev.dtype), state
            return torch.randn((h_prev.shape[0], self.cfg.z_dim), generator=generator,
                               device=h_prev.device, dtype=h_prev.dtype), state
        mu_p, logvar_p, state = self.prior.step(h_prev, state)
        return _sample(mu_p, logvar_p, _randn(mu_p, generator) if eps is None else eps.to(mu_p.dtype)), state

    def _noise_rows(self, eps: Optional[torch.Tensor], lead: Tuple[int, int, int],
                    device: torch.device) -> Optional[torch.Tensor]:
        """``eps`` (N, B, steps, z_dim) checked and flattened to rows (N·B, steps, z_dim), sample-major."""
        if eps is None:
            return None
        if tuple(eps.shape) != (*lead, self.cfg.z_dim):
            raise ValueError(f"eps must have shape (N, B, K - 1 + n_future, z_dim) = "
                             f"{(*lead, self.cfg.z_dim)}, got {tuple(eps.shape)}")
        return eps.to(device).flatten(0, 1)

    def _warm_up(self, h: torch.Tensor, generator: Optional[torch.Generator],
                 eps: Optional[torch.Tensor]):
        """Prior and predictor LSTM states after the context codes h (rows, K, g_dim), each row
        with its own posterior z (noise ``eps`` (rows, K − 1, z_dim), else drawn); None if K = 1."""
        if h.shape[1] < 2:
            return None, None
        mu_q, logvar_q, _ = self.posterior(h[:, 1:])
        z = _sample(mu_q, logvar_q, _randn(mu_q, generator) if eps is None else eps.to(mu_q.dtype))
        prior_state = None if self.prior is None else self.prior(h[:, :-1])[2]
        return prior_state, self.predictor(torch.cat([h[:, :-1], z], -1))[1]

    def generate(self, context: torch.Tensor, n_future: int, n_samples: int = 1,
                 generator: Optional[torch.Generator] = None,
                 eps: Optional[torch.Tensor] = None, parts: bool = False):
        """Sample futures: all N samples of all B sequences roll out together as one batch of B·N.

        Context steps use posterior latents and ground-truth frames; future steps draw z from the
        prior and re-encode the model's own prediction. BatchNorm runs in eval mode.

        Parameters
        ----------
        context : (B, K, C, H, W) float in [0, 1], K ≥ 1 ground-truth frames (usually n_past;
            K ≥ 2 with ``skip='original'``, whose skip maps come from context frame K − 2).
        n_future : frames to predict (≥ 1).
        n_samples : N ≥ 1 futures per sequence.
        generator : optional torch.Generator for reproducible samples.
        eps : optional (N, B, K − 1 + n_future, z_dim) standard-normal noise, used instead of draws
            from ``generator``: per sample, the posterior draws of context steps 2..K, then the
            prior draw of each predicted step. Sample (n, b) depends only on eps[n, b], so callers
            that split the N samples into chunks get the same samples whatever the chunk size.
        parts : also return what the head made of each predicted frame.

        Returns
        -------
        (N, B, K + n_future, C, H, W) float in [0, 1]; the first K frames are the context. With
        ``parts``, also a dict of the predicted frames' head outputs, each (N, B, n_future, ·, H,
        W): ``appearance`` (C channels), and for the motion heads ``mask`` (1) and, for ``warp``,
        ``flow`` (2, pixels).
        """
        if n_future < 1 or n_samples < 1:
            raise UserError(f"n_future and n_samples must be >= 1, got {n_future}, {n_samples}")
        original = self.cfg.skip == "original"
        self.check_frames(context, 2 if original else 1, "context")
        b, k = context.shape[:2]
        noise = self._noise_rows(eps, (n_samples, b, k - 1 + n_future), context.device)

        def per_sample(t: torch.Tensor) -> torch.Tensor:  # (B, ...) → (N·B, ...), sample-major
            return t.unsqueeze(0).expand(n_samples, *t.shape).reshape(n_samples * b, *t.shape[1:])

        with eval_mode(self):
            h, skips = self.encode(context)
            h = per_sample(h)
            prior_state, pred_state = self._warm_up(h, generator, None if noise is None
                                                    else noise[:, :k - 1])
            h_prev = h[:, -1]
            # Every sample of a sequence starts from its last context frame's skip maps (one
            # earlier for 'original'), kept once per sequence: row n·B + b of the rollout reads map b.
            skip = [s[:, -2 if original else -1] for s in skips]
            rows = SharedSkips(n_samples, 1, 1)
            x_prev = per_sample(context[:, -1])
            frames, outs = [], []
            for t in range(n_future):
                z, prior_state = self._prior_z(h_prev, prior_state, generator,
                                               None if noise is None else noise[:, k - 1 + t])
                g, pred_state = self.predictor.step(torch.cat([h_prev, z], -1), pred_state)
                out = self.decode(g, skip, rows, x_prev)
                x_t = x_prev = out.mean    # the motion heads reuse the model's own frame
                frames.append(x_t)
                if parts:
                    outs.append(out)
                if t + 1 < n_future:
                    h_prev, new_skips = self.encoder(x_t)
                    if self.cfg.skip == "previous":
                        skip, rows = new_skips, None
        future = torch.stack(frames, 1).to(context.dtype)
        out = torch.cat([per_sample(context), future], 1)
        video = out.view(n_samples, b, *out.shape[1:])
        if not parts:
            return video
        made = {}
        for name in ("appearance", "mask", "flow"):
            if getattr(outs[0], name) is not None:
                stacked = torch.stack([getattr(o, name) for o in outs], 1).float()
                made[name] = stacked.view(n_samples, b, *stacked.shape[1:])
        return video, made
