"""BAIR robot pushing: the dataset (:mod:`.dataset`), TFRecord reading (:mod:`.tfrecords`), the
converter behind ``svg convert-bair`` (:mod:`.convert`) and the records' checker (:mod:`.check`).
``data_loaders.bair`` keeps the names of the former module of that name."""
from .dataset import *  # noqa: F401,F403
