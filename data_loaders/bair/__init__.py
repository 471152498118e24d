"""BAIR robot pushing: the dataset (:mod:`.dataset`), TFRecord reading (:mod:`.tfrecords`), the
converter behind ``svg convert-bair`` (:mod:`.convert`) and the records' checker (:mod:`.check`)."""
from . import dataset  # noqa: F401 (registers the dataset; the registry imports packages only)
