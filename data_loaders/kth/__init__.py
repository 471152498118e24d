"""KTH human actions: the dataset (:mod:`.dataset`), the file listing and manifest (:mod:`.files`),
and the converter behind ``svg convert-kth`` (:mod:`.convert`)."""
from . import dataset  # noqa: F401 (registers the dataset; the registry imports packages only)
