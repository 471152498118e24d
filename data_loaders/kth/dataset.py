"""KTH human actions (Schüldt et al., 2004): the third dataset of SVG and SRVP, split by person.

Six classes (boxing, handclapping, handwaving, jogging, running, walking), 25 people, scenarios
d1–d4, 160×120 grey at 25 fps, read as 64×64 grey (aspect not kept) from the raw AVIs, the
``svg convert-kth`` output or SVG's / SRVP's PNG folders (see :mod:`data_loaders.kth.files`).

Splits, by person:

- ``train``: people 1–20 except the validation people. Every item is a fresh clip: a random video
  (uniform over the videos long enough), then a random start, both drawn from torch's global
  generator (the trainer seeds it per step, so resuming replays the same clips).
- ``val``: the validation people, by default person 20 alone (about 24 videos, one of the twenty
  training people held out whole, so validation, like test, sees people the model was not trained
  on). ``val_people=[]`` trains on all of 1–20 as SVG and SRVP did (there is then no val split).
- ``test``: people 21–25.

Val and test clips are fixed: each is ``clip_len`` frames (default 40 = 10 context + 30
predicted) and items are its first ``seq_len`` frames, so item i never depends on the length
asked (prefix-stable). ``protocol``:

- ``default``: item i is a function of (seed, i) alone: ``numpy.random.default_rng([seed, i])``
  draws a video uniformly among those of at least ``clip_len`` frames (sorted by class, then
  name), then a start uniformly in [0, frames − clip_len].
- ``srvp`` (the test split; val keeps ``default``): SRVP's 1000-clip test set (``preprocessing/kth/make_test_set.py``):
  ``numpy.random.seed(42)``, then per clip a class ``randint(6)``, a person ``randint(21, 26)``, a
  scenario ``randint(1, 5)`` and a start ``randint(frames − 40 + 1)``, drawn in that order. The
  starts depend on each video's frame count, so the clips equal SRVP's only where the counts equal
  those of SRVP's ffmpeg conversion; a drawn video that is missing or too short is an error,
  since skipping it would change every later draw.

Videos shorter than the clip length of a split are skipped, and counted and named in one warning
when the dataset is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from core.errors import UserError

from data_loaders.common.base import DatasetEntry, register_dataset
from data_loaders.common.clips import TRAIN_LENGTH, ClipDataset, check_positive, fixed_clips, long_enough
from data_loaders.kth.files import CLASSES, KTHVideo, list_videos, read_clip, read_manifest
from data_loaders.common.splits import check_split

TRAIN_PEOPLE, TEST_PEOPLE = tuple(range(1, 21)), tuple(range(21, 26))
SRVP_SEED, SRVP_CLIPS, SRVP_CLIP_LEN = 42, 1000, 40
PROTOCOLS = ("default", "srvp")


def split_people(split: str, val_people: Sequence[int]) -> Tuple[int, ...]:
    """The people of ``split`` (train | val | test) given the held-out validation people."""
    check_split(split)
    bad = [p for p in val_people if p not in TRAIN_PEOPLE]
    if bad:
        raise UserError(f"val_people {list(val_people)}: {bad} are not training people (1–20)")
    if split == "train":
        return tuple(p for p in TRAIN_PEOPLE if p not in val_people)
    if split == "val":
        if not val_people:
            raise UserError("KTH has no val split with val_people=[]; set data.options.val_people "
                            "(default [20])")
        return tuple(sorted(val_people))
    return TEST_PEOPLE


def srvp_clips(videos: List[KTHVideo], n: int = SRVP_CLIPS, clip_len: int = SRVP_CLIP_LEN,
               seed: int = SRVP_SEED) -> List[Tuple[int, int]]:
    """(video index, start) of SRVP's test clips, drawn as its ``make_test_set.py`` does."""
    by_key = {(v.action, v.person, v.scenario): k for k, v in enumerate(videos)}
    rs = np.random.RandomState(seed)
    clips = []
    for i in range(n):
        action = CLASSES[rs.randint(len(CLASSES))]
        person, scenario = rs.randint(21, 26), rs.randint(1, 5)
        name = f"person{person:02d}_{action}_d{scenario}"
        k = by_key.get((action, person, scenario))
        if k is None:
            raise UserError(f"KTH srvp protocol: clip {i} draws {name}, which is missing from the data; "
                            f"SRVP's test set needs every test video")
        if videos[k].frames < clip_len:
            raise UserError(f"KTH srvp protocol: clip {i} draws {name}, which has {videos[k].frames} "
                            f"frames, fewer than {clip_len}")
        clips.append((k, int(rs.randint(videos[k].frames - clip_len + 1))))
    return clips


class KTH(ClipDataset):
    """KTH clips; items (seq_len, 1, size, size) float32 in [0, 1] (see :class:`ClipDataset`).

    Parameters
    ----------
    videos : the split's videos (each with at least ``seq_len`` frames).
    fmt : raw | converted | png, how they are stored.
    seq_len : frames per item. size : frame width and height.
    clips : fixed (video index, start) per item (val/test); None draws a random clip per item
        from torch's global generator (train).
    length : len() when ``clips`` is None (an epoch's worth of index range).
    """

    def __init__(self, videos: List[KTHVideo], fmt: str, seq_len: int, size: int = 64,
                 clips: Optional[List[Tuple[int, int]]] = None, length: int = TRAIN_LENGTH):
        super().__init__(videos, seq_len, clips, length)
        self.fmt, self.size = fmt, size

    def read(self, video: KTHVideo, start: int, n: int) -> np.ndarray:
        return read_clip(video, self.fmt, start, n, self.size)[..., None]


def kth_dataset(root: str, split: str, seq_len: int, format: str = "auto", protocol: str = "default",
                seed: Optional[int] = None, length: Optional[int] = None, clip_len: int = SRVP_CLIP_LEN,
                val_people: Sequence[int] = (20,), image_size: int = 64) -> KTH:
    """The KTH ``split`` under ``root`` (see the module docstring for the splits and protocols)."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown KTH protocol {protocol!r}; choose one of {PROTOCOLS}")
    check_positive((("image_size", image_size), ("clip_len", clip_len), ("length", length)), "KTH")
    people = split_people(split, list(val_people))
    fmt, videos = list_videos(root, format, people)
    converted_size = read_manifest(root)["size"] if fmt == "converted" else image_size
    if converted_size != image_size:
        raise UserError(f"{root}: converted at {converted_size}×{converted_size}, but image_size is "
                        f"{image_size}; convert again with --image-size {image_size}")
    if split == "train":
        return KTH(long_enough(videos, seq_len, f"KTH {split}"), fmt, seq_len, image_size,
                   length=length or TRAIN_LENGTH)
    if seq_len > clip_len:
        raise UserError(f"seq_len {seq_len} is longer than the KTH {split} clips (clip_len {clip_len})")
    if protocol == "srvp" and split == "test":   # val keeps the default protocol
        if clip_len != SRVP_CLIP_LEN:
            raise UserError(f"the srvp protocol's test clips have {SRVP_CLIP_LEN} frames; got clip_len "
                            f"{clip_len}")
        clips = srvp_clips(videos, length or SRVP_CLIPS, clip_len, SRVP_SEED if seed is None else seed)
        return KTH(videos, fmt, seq_len, image_size, clips)
    videos, clips = fixed_clips(videos, split, seq_len, clip_len, length or 1000, seed, f"KTH {split}")
    return KTH(videos, fmt, seq_len, image_size, clips)


@dataclass
class KTHOptions:
    """``data.options`` of kth (see the module docstring): format, protocol (default | srvp),
    seed and number of clips of the fixed splits, their clip length, the val people and the
    frame side."""
    format: str = "auto"
    protocol: str = "default"
    seed: Optional[int] = None
    length: Optional[int] = None
    clip_len: int = SRVP_CLIP_LEN
    val_people: List[int] = field(default_factory=lambda: [20])
    image_size: int = 64


def build_kth(split: str, root: Optional[str], seq_len: int, o: KTHOptions) -> KTH:
    """People 1–20 but the val people train, the val people (default: 20) val, 21–25 test."""
    if root is None:
        raise UserError("kth needs data.root: the folder of the six class folders of *_uncomp.avi "
                        "files, a `svg convert-kth` output folder, or SVG's / SRVP's PNG folders")
    return kth_dataset(root, split, seq_len, o.format, o.protocol, o.seed, o.length, o.clip_len,
                       o.val_people, o.image_size)


register_dataset(DatasetEntry("kth", build_kth, channels=1, image_size=lambda o: o.image_size,
                              n_future=10, eval_n_future=30, Options=KTHOptions))
