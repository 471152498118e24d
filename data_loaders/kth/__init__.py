"""KTH human actions: the dataset (:mod:`.dataset`), the file listing and manifest (:mod:`.files`),
and the converter behind ``svg convert-kth`` (:mod:`.convert`).
``data_loaders.kth`` keeps the names of the former module of that name."""
from .dataset import *  # noqa: F401,F403
