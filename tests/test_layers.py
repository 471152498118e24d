"""Building blocks: skip-split convolutions and LSTMs stepped vs run over a sequence."""
import pytest
import torch
from torch import nn

from models import GaussianLSTM, LSTMPredictor
from models.skip import SharedSkips, conv_cat, upsample_conv_cat


@pytest.mark.parametrize("conv", [nn.Conv2d(6, 5, 3, 1, 1), nn.ConvTranspose2d(6, 5, 4, 2, 1)])
def test_conv_cat_with_shared_skips_equals_conv_of_concatenation(conv):
    torch.manual_seed(0)
    x = torch.randn(7, 2, 8, 8, dtype=torch.float64)
    skip = torch.randn(3, 4, 8, 8, dtype=torch.float64)
    rows = torch.tensor([0, 0, 1, 2, 2, 2, 1])
    conv = conv.double()
    expected = conv(torch.cat([x, skip[rows]], 1))
    torch.testing.assert_close(conv_cat(conv, x, skip, rows), expected)
    torch.testing.assert_close(conv_cat(conv, x, skip[rows]), expected)
    with pytest.raises(ValueError, match="groups=1"):
        conv_cat(nn.Conv2d(6, 6, 3, 1, 1, groups=2), x.float(), skip.float(), rows)


def test_lstms_stepped_equal_whole_sequence():
    torch.manual_seed(0)
    pred, gauss = LSTMPredictor(5, 3, 16, 2), GaussianLSTM(5, 4, 16, 1)
    x = torch.randn(2, 6, 5)
    y, state = pred(x)
    mu, logvar, gstate = gauss(x)
    s = gs = None
    for t in range(6):
        y_t, s = pred.step(x[:, t], s)
        mu_t, lv_t, gs = gauss.step(x[:, t], gs)
        torch.testing.assert_close(y_t, y[:, t])
        torch.testing.assert_close(mu_t, mu[:, t])
        torch.testing.assert_close(lv_t, logvar[:, t])
    torch.testing.assert_close(s[0], state[0])
    assert y.abs().max() < 1
    with pytest.raises(ValueError, match=r"expects \(B, T, 5\) input, got shape \(2, 6, 4\)"):
        pred(torch.randn(2, 6, 4))


@pytest.mark.parametrize("repeats,maps,steps,used", [(1, 2, 5, 1), (1, 3, 6, 4), (4, 3, 1, 1),
                                                     (2, 2, 3, 3)])
def test_shared_skips_equal_an_explicit_gather(repeats, maps, steps, used):
    """The broadcast layout picks the same maps as indexing: frame (r, b, t) reads (b, min(t, used-1))."""
    torch.manual_seed(0)
    share = SharedSkips(repeats, steps, used)
    rows = share.rows(maps * used)
    expected_rows = [b * used + min(t, used - 1) for r in range(repeats) for b in range(maps)
                     for t in range(steps)]
    assert rows.tolist() == expected_rows
    n = repeats * maps * steps
    conv = nn.ConvTranspose2d(6, 5, 4, 2, 1).double()
    x = torch.randn(n, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    skip = torch.randn(maps * used, 4, 8, 8, dtype=torch.float64, requires_grad=True)
    expected = conv(torch.cat([x, skip[rows]], 1))
    got = conv_cat(conv, x, skip, share)
    torch.testing.assert_close(got, expected)
    g = torch.randn_like(got)
    torch.testing.assert_close(torch.autograd.grad(got, (x, skip), g),
                               torch.autograd.grad(expected, (x, skip), g))


@pytest.mark.parametrize("rows", [None, torch.tensor([0, 0, 1, 1, 1, 0]), SharedSkips(1, 3, 2)])
def test_upsample_conv_cat_equals_upsample_then_conv(rows):
    """Nearest 2× upsampling then a 3×3 convolution, computed as one stride-2 transposed conv."""
    torch.manual_seed(0)
    conv = nn.Conv2d(7, 5, 3, 1, 1).double()
    x = torch.randn(6, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    skip = torch.randn(6 if rows is None else 4, 4, 10, 8, dtype=torch.float64, requires_grad=True)
    picked = skip if rows is None else skip[rows if isinstance(rows, torch.Tensor) else rows.rows(4)]
    up = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
    expected = conv(torch.cat([up, picked], 1))
    got = upsample_conv_cat(conv, x, skip, rows)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    g = torch.randn_like(got)
    params = (x, skip, conv.weight, conv.bias)
    torch.testing.assert_close(torch.autograd.grad(got, params, g),
                               torch.autograd.grad(expected, params, g), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="3×3 convolution with stride 1"):
        upsample_conv_cat(nn.Conv2d(7, 5, 3, 2, 1).double(), x, skip, rows)
