"""A folder of your own videos: the dataset (:mod:`.dataset`), finding and splitting the files
(:mod:`.sources`), decoding and fitting frames (:mod:`.files`) and the converter behind
``svg convert-videos`` (:mod:`.convert`). ``data_loaders.videos`` keeps the names of the former
module of that name."""
from .dataset import *  # noqa: F401,F403
