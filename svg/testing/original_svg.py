"""SVG-LP written the way the original SVG training code is (the step-by-step speed baseline).

The benchmark in ``benchmarks/train_step.py`` needs a baseline that costs what the original code
costs, not a loop over this project's time-batched modules. So this file has its own networks,
laid out as the original ``models/vgg_64.py``, ``models/dcgan_64.py`` and ``models/lstm.py`` are:

- encoder/decoder blocks of Conv + BatchNorm + LeakyReLU(0.2, in place); the decoder concatenates
  each skip map with its input and applies one convolution to the concatenation; the decoder ends
  in a sigmoid;
- each LSTM network is a Linear embedding, a stack of ``nn.LSTMCell`` and Linear heads;
- the training step loops over time: per step, the encoder runs on x_{t−1} and again on x_t,
  BatchNorm normalises that frame's batch of B, the skip maps come from frame t−1 while
  t < n_past (so they freeze at frame n_past − 2, 0-based) or always with ``last_frame_skip``;
- the loss is summed over steps: per-pixel mean MSE + β · KL / B (the original objective).

Recurrent state is passed in and returned rather than kept on the modules (the only departure,
and it changes no arithmetic). :func:`copy_weights` loads an :class:`svg.SVG` model's weights, so
both sides of the benchmark start identical; ``tests/test_original_baseline.py`` shows the loss
then equals ``SVG.loss`` with ``model.skip: original`` and the ``mse`` likelihood.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

State = List[Tuple[torch.Tensor, torch.Tensor]]   # one (h, c) per layer, each (B, hidden)

# Widths of the original networks in units of ``width`` (64 in the paper).
VGG64 = ((1, 1), (2, 2), (4, 4, 4), (8, 8, 8))
DCGAN64 = (1, 2, 4, 8)


def _bn_act(conv: nn.Module, c_out: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


def _vgg_layer(c_in: int, c_out: int) -> nn.Sequential:
    return _bn_act(nn.Conv2d(c_in, c_out, 3, 1, 1), c_out)


class VGGEncoder64(nn.Module):
    """Original ``vgg_64.encoder``: (B, C, 64, 64) → (B, g_dim) and the four block outputs."""

    def __init__(self, g_dim: int, channels: int, width: int = 64):
        super().__init__()
        blocks, c_in = [], channels
        for widths in VGG64:
            layers = []
            for m in widths:
                layers.append(_vgg_layer(c_in, m * width))
                c_in = m * width
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(nn.Conv2d(c_in, g_dim, 4, 1, 0), nn.BatchNorm2d(g_dim), nn.Tanh())
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        skips = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        return self.head(self.pool(x)).flatten(1), skips


class VGGDecoder64(nn.Module):
    """Original ``vgg_64.decoder``: upsample, concatenate the skip, one convolution per layer."""

    def __init__(self, g_dim: int, channels: int, width: int = 64):
        super().__init__()
        w = width
        self.g_dim = g_dim
        self.head = _bn_act(nn.ConvTranspose2d(g_dim, 8 * w, 4, 1, 0), 8 * w)
        plan = (((16, 8), (8, 8), (8, 4)), ((8, 4), (4, 4), (4, 2)), ((4, 2), (2, 1)), ((2, 1),))
        self.blocks = nn.ModuleList(nn.Sequential(*(_vgg_layer(i * w, o * w) for i, o in block))
                                    for block in plan)
        self.out = nn.ConvTranspose2d(w, channels, 3, 1, 1)
        self.up = nn.UpsamplingNearest2d(scale_factor=2)

    def forward(self, g: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self.head(g.view(-1, self.g_dim, 1, 1))
        for block, skip in zip(self.blocks, reversed(skips)):
            x = block(torch.cat([self.up(x), skip], 1))
        return torch.sigmoid(self.out(x))


class DCGANEncoder64(nn.Module):
    """Original ``dcgan_64.encoder``: strided 4×4 convolutions, then a 4×4 convolution to g_dim."""

    def __init__(self, g_dim: int, channels: int, width: int = 64):
        super().__init__()
        ins = (channels,) + tuple(m * width for m in DCGAN64[:-1])
        self.blocks = nn.ModuleList(_bn_act(nn.Conv2d(i, m * width, 4, 2, 1), m * width)
                                    for i, m in zip(ins, DCGAN64))
        top = DCGAN64[-1] * width
        self.head = nn.Sequential(nn.Conv2d(top, g_dim, 4, 1, 0), nn.BatchNorm2d(g_dim), nn.Tanh())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        # as the original: one named output per layer, the four of them the skips
        h1 = self.blocks[0](x)
        h2 = self.blocks[1](h1)
        h3 = self.blocks[2](h2)
        h4 = self.blocks[3](h3)
        return self.head(h4).flatten(1), [h1, h2, h3, h4]


class DCGANDecoder64(nn.Module):
    """Original ``dcgan_64.decoder``: transposed convolutions of [input, skip] concatenations."""

    def __init__(self, g_dim: int, channels: int, width: int = 64):
        super().__init__()
        rev = tuple(m * width for m in reversed(DCGAN64))        # 8w, 4w, 2w, w
        self.g_dim = g_dim
        self.head = _bn_act(nn.ConvTranspose2d(g_dim, rev[0], 4, 1, 0), rev[0])
        self.blocks = nn.ModuleList(_bn_act(nn.ConvTranspose2d(2 * rev[i], rev[i + 1], 4, 2, 1),
                                            rev[i + 1]) for i in range(len(rev) - 1))
        self.out = nn.ConvTranspose2d(2 * rev[-1], channels, 4, 2, 1)

    def forward(self, g: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self.head(g.view(-1, self.g_dim, 1, 1))
        for block, skip in zip(self.blocks, reversed(skips[1:])):
            x = block(torch.cat([x, skip], 1))
        return torch.sigmoid(self.out(torch.cat([x, skips[0]], 1)))


class CellStack(nn.Module):
    """Original ``lstm`` / ``gaussian_lstm``: Linear embedding → stacked LSTMCells → heads.

    ``gaussian`` False: one tanh head (the frame predictor); True: μ and log σ² heads.
    """

    def __init__(self, input_size: int, output_size: int, hidden: int, layers: int, gaussian: bool):
        super().__init__()
        self.hidden, self.gaussian = hidden, gaussian
        self.embed = nn.Linear(input_size, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.heads = nn.ModuleList(nn.Linear(hidden, output_size) for _ in range(2 if gaussian else 1))

    def init_state(self, batch: int, like: torch.Tensor) -> State:
        zeros = like.new_zeros(batch, self.hidden)
        return [(zeros, zeros) for _ in self.cells]

    def forward(self, x: torch.Tensor, state: State):
        """x (B, input_size) → (tanh output | (μ, log σ²)) and the new state."""
        inp, new = self.embed(x), []
        for cell, hc in zip(self.cells, state):
            hc = cell(inp, hc)
            new.append(hc)
            inp = hc[0]
        if self.gaussian:
            return (self.heads[0](inp), self.heads[1](inp)), new
        return torch.tanh(self.heads[0](inp)), new


BACKBONES = {"vgg64": (VGGEncoder64, VGGDecoder64), "dcgan64": (DCGANEncoder64, DCGANDecoder64)}


class OriginalSVG(nn.Module):
    """SVG-LP as the original code builds it, with the sizes of a :class:`svg.ModelConfig`.

    Only what the original supports: backbones ``vgg64`` / ``dcgan64``, the learned prior and a
    sigmoid decoder of ``channels`` outputs; ``last_frame_skip`` = its ``--last_frame_skip``.
    """

    def __init__(self, cfg, last_frame_skip: bool = False):
        super().__init__()
        if cfg.backbone not in BACKBONES:
            raise ValueError(f"original SVG baseline: backbone must be one of {sorted(BACKBONES)}, "
                             f"got {cfg.backbone!r}")
        if cfg.prior != "learned":
            raise ValueError(f"original SVG baseline: prior must be 'learned', got {cfg.prior!r}")
        enc, dec = BACKBONES[cfg.backbone]
        self.n_past, self.channels, self.last_frame_skip = cfg.n_past, cfg.channels, last_frame_skip
        self.encoder = enc(cfg.g_dim, cfg.channels, cfg.width)
        self.decoder = dec(cfg.g_dim, cfg.channels, cfg.width)
        self.predictor = CellStack(cfg.g_dim + cfg.z_dim, cfg.g_dim, cfg.rnn_size,
                                   cfg.predictor_layers, gaussian=False)
        self.posterior = CellStack(cfg.g_dim, cfg.z_dim, cfg.rnn_size, cfg.posterior_layers, True)
        self.prior = CellStack(cfg.g_dim, cfg.z_dim, cfg.rnn_size, cfg.prior_layers, True)

    def loss(self, x: torch.Tensor, beta: float, eps: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The original training objective, summed over steps t = 1..T−1 (0-based targets).

        x : (B, T, C, H, W) float in [0, 1]; eps : optional (B, T − 1, z_dim) posterior noise.
        Returns the scalar Σ_t [mean over B·C·H·W of (x̂_t − x_t)² + β · KL_t summed over
        latents and averaged over B].
        """
        frames = x.transpose(0, 1).contiguous()   # the original's (T, B, C, H, W) layout
        b = x.shape[0]
        post = self.posterior.init_state(b, x)
        prior, pred = self.prior.init_state(b, x), self.predictor.init_state(b, x)
        mse = kld = 0.0
        skip = None
        for t in range(1, frames.shape[0]):
            h, skip_t = self.encoder(frames[t - 1])
            h_target = self.encoder(frames[t])[0]
            if self.last_frame_skip or t < self.n_past:
                skip = skip_t
            (mu, logvar), post = self.posterior(h_target, post)
            noise = torch.randn_like(mu) if eps is None else eps[:, t - 1]
            z = mu + torch.exp(0.5 * logvar) * noise
            (mu_p, logvar_p), prior = self.prior(h, prior)
            g, pred = self.predictor(torch.cat([h, z], 1), pred)
            x_pred = self.decoder(g, skip)
            mse = mse + (x_pred - frames[t]).pow(2).mean()
            kl = (0.5 * (logvar_p - logvar) + (logvar.exp() + (mu - mu_p).pow(2))
                  / (2 * logvar_p.exp()) - 0.5)
            kld = kld + kl.sum() / b
        return mse + beta * kld


def copy_weights(src: nn.Module, dst: OriginalSVG) -> None:
    """Load an :class:`svg.SVG` model's parameters and BatchNorm buffers into ``dst``.

    Both sides register their tensors in the same order (encoder, decoder, predictor, posterior,
    prior; ``nn.LSTM`` layer l's weights = ``LSTMCell`` l's), so they are matched by position;
    any difference in count or shape raises ``ValueError``.
    """
    ours = [(k, v) for k, v in src.state_dict().items() if not k.startswith("likelihood.")]
    theirs = list(dst.state_dict().items())
    order = ("encoder.", "decoder.", "predictor.", "posterior.", "prior.")
    ours.sort(key=lambda kv: order.index(kv[0][:kv[0].index(".") + 1]))
    if len(ours) != len(theirs):
        raise ValueError(f"copy_weights: {len(ours)} tensors in the SVG model, {len(theirs)} in "
                         f"the original-layout model")
    with torch.no_grad():
        for (k_src, v_src), (k_dst, v_dst) in zip(ours, theirs):
            if v_src.shape != v_dst.shape:
                raise ValueError(f"copy_weights: {k_src} {tuple(v_src.shape)} does not match "
                                 f"{k_dst} {tuple(v_dst.shape)}")
            v_dst.copy_(v_src)
