"""KTH human actions (Schüldt et al., 2004): the third dataset of SVG and SRVP, split by person.

Six classes (boxing, handclapping, handwaving, jogging, running, walking), 25 people, scenarios
d1–d4, 160×120 grey at 25 fps, read as 64×64 grey (aspect not kept) from the raw AVIs, the
``svg convert-kth`` output or SVG's / SRVP's PNG folders (see :mod:`data_loaders.kth_files`).

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

import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from models.errors import InputWarning, UserError

from .base import DatasetEntry, VideoDataset, register_dataset
from .kth_files import CLASSES, KTHVideo, list_videos, read_clip, read_manifest
from .splits import check_split

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


def long_enough(videos: List[KTHVideo], min_frames: int, split: str) -> List[KTHVideo]:
    """The videos with at least ``min_frames`` frames; the others are reported in one warning."""
    kept = [v for v in videos if v.frames >= min_frames]
    short = [v for v in videos if v.frames < min_frames]
    if short:
        names = ", ".join(f"{v.name} ({v.frames})" for v in short[:10])
        warnings.warn(f"KTH {split}: skipped {len(short)} of {len(videos)} videos shorter than "
                      f"{min_frames} frames: {names}{' …' if len(short) > 10 else ''}",
                      InputWarning, stacklevel=2)
    if not kept:
        raise UserError(f"KTH {split}: none of the {len(videos)} videos has {min_frames} frames")
    return kept


def default_clips(videos: List[KTHVideo], n: int, clip_len: int, seed: int) -> List[Tuple[int, int]]:
    """(video index, start) of clips 0..n−1; clip i depends only on (seed, i) and the video list."""
    clips = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        k = int(rng.integers(len(videos)))
        clips.append((k, int(rng.integers(videos[k].frames - clip_len + 1))))
    return clips


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


class KTH(VideoDataset):
    """KTH clips; items (seq_len, 1, size, size) float32 in [0, 1].

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
                 clips: Optional[List[Tuple[int, int]]] = None, length: int = 100_000):
        if seq_len < 1:
            raise UserError(f"seq_len must be >= 1, got {seq_len}")
        self.videos, self.fmt, self.seq_len, self.size = videos, fmt, seq_len, size
        self.clips, self.length = clips, length if clips is None else len(clips)

    def __len__(self) -> int:
        return self.length

    def clip(self, i: int) -> Tuple[KTHVideo, int]:
        """(video, start frame) of item ``i`` (drawn afresh for training)."""
        self.check_index(i, "clips")
        if self.clips is not None:
            k, start = self.clips[i]
            return self.videos[k], start
        video = self.videos[int(torch.randint(len(self.videos), ()))]
        return video, int(torch.randint(video.frames - self.seq_len + 1, ()))

    def __getitem__(self, i: int) -> torch.Tensor:
        video, start = self.clip(i)
        frames = read_clip(video, self.fmt, start, self.seq_len, self.size)
        return torch.from_numpy(frames).unsqueeze(1).float().div_(255.0)


def kth_dataset(root: str, split: str, seq_len: int, format: str = "auto", protocol: str = "default",
                seed: Optional[int] = None, length: Optional[int] = None, clip_len: int = SRVP_CLIP_LEN,
                val_people: Sequence[int] = (20,), image_size: int = 64) -> KTH:
    """The KTH ``split`` under ``root`` (see the module docstring for the splits and protocols)."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown KTH protocol {protocol!r}; choose one of {PROTOCOLS}")
    for key, value in (("image_size", image_size), ("clip_len", clip_len), ("length", length)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise UserError(f"KTH option {key} must be a positive integer, got {value!r}")
    people = split_people(split, list(val_people))
    fmt, videos = list_videos(root, format, people)
    converted_size = read_manifest(root)["size"] if fmt == "converted" else image_size
    if converted_size != image_size:
        raise UserError(f"{root}: converted at {converted_size}×{converted_size}, but image_size is "
                        f"{image_size}; convert again with --image-size {image_size}")
    if split == "train":
        return KTH(long_enough(videos, seq_len, split), fmt, seq_len, image_size, length=length or 100_000)
    if seq_len > clip_len:
        raise UserError(f"seq_len {seq_len} is longer than the KTH {split} clips (clip_len {clip_len})")
    if protocol == "srvp" and split == "test":   # val keeps the default protocol
        if clip_len != SRVP_CLIP_LEN:
            raise UserError(f"the srvp protocol's test clips have {SRVP_CLIP_LEN} frames; got clip_len "
                            f"{clip_len}")
        clips = srvp_clips(videos, length or SRVP_CLIPS, clip_len, SRVP_SEED if seed is None else seed)
        return KTH(videos, fmt, seq_len, image_size, clips)
    videos = long_enough(videos, clip_len, split)
    base = 0 if seed is None else seed
    clips = default_clips(videos, length or 1000, clip_len, base if split == "test" else base + 1)
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
