"""Networks of SVG: frame encoders/decoders with skips, LSTMs, and the backbone registry."""
from .dcgan import DCGANDecoder, DCGANEncoder
from .init import init_weights
from .lstm import GaussianLSTM, LSTMPredictor
from .registry import BACKBONES, Backbone, build_backbone, get_backbone
from .vgg import VGGDecoder, VGGEncoder

__all__ = ["BACKBONES", "Backbone", "build_backbone", "get_backbone", "init_weights",
           "DCGANEncoder", "DCGANDecoder", "VGGEncoder", "VGGDecoder", "GaussianLSTM", "LSTMPredictor"]
