"""Building blocks: skip-split convolutions and LSTMs stepped vs run over a sequence."""
import pytest
import torch
from torch import nn

from models import GaussianLSTM, LSTMPredictor
from models.skip import conv_cat


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
