"""A folder of your own videos: the dataset (:mod:`.dataset`), finding and splitting the files
(:mod:`.sources`), decoding and fitting frames (:mod:`.files`) and the converter behind
``svg convert-videos`` (:mod:`.convert`)."""
from . import dataset  # noqa: F401 (registers the dataset; the registry imports packages only)
