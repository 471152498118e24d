"""``data.name: videos``: train, validate and test on any folder of your own clips.

``data.root`` is a folder searched recursively for video files, GIFs, frame folders and
``.npy``/``.npz`` arrays (:mod:`data_loaders.videos.sources` says what counts and how each video is
keyed and split), or the output of ``svg convert-videos`` (:mod:`data_loaders.videos.convert`,
found by its ``manifest.json``: the same videos already resized, memory-mapped).

Frames are brought to ``image_size`` × ``image_size`` and ``channels`` as ``svg predict`` does
(:func:`data_loaders.videos.files.fit_frames`: BT.601 luma or repeated grey, then the shorter side
scaled and the centre kept, or ``squash``), after keeping every ``frame_step``-th frame.

Splits: ``train/``, ``val/`` and ``test/`` folders of ``root`` when it has all three, else a hash of
each video's relative path with ``val_fraction`` and ``test_fraction`` (stated in the log).

Clips (:mod:`data_loaders.common.clips`, shared with KTH): a training item is a video drawn uniformly
among those long enough, then a start drawn uniformly, from torch's global generator. A val or test
item i is a fixed clip of ``clip_len`` frames, a function of (seed, i) alone
(``numpy.random.default_rng([seed, i])``: test ``seed``, val ``seed + 1``, seed 0 by default),
cut to the length asked; ``clip_len`` (30 = 10 context + 20 predicted) must cover the longest
evaluation, ``model.n_past + data.eval_n_future``.

Nothing is silently dropped: a file that cannot be read, or a video shorter than the clip length,
is counted and named in a warning when the split is built; an empty split is an error naming it.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from core.errors import InputWarning, MissingFile, UserError

from data_loaders.common.base import DatasetEntry, register_dataset
from data_loaders.common.clips import (TRAIN_LENGTH, ClipDataset, check_positive, fixed_clips, long_enough,
                    report_truncated)
from data_loaders.common.files import load_array
from data_loaders.videos.files import RESIZE_MODES, fit_frames
from data_loaders.videos.sources import (HASH_RULE, WHAT, SourceVideo, counted, find_videos, has_split_folders,
                            read_frames, split_of)

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Written by ``svg convert-videos`` while it runs; removed once ``manifest.json`` is written.
CONVERTING = "converting.json"
IMAGE_SIZES = (64, 128)
CHANNELS = (1, 3)
CLIP_LEN, FIXED_CLIPS = 30, 256
#: The options that decide the frames; a conversion is made for one value of each.
FRAME_SETTINGS = ("image_size", "channels", "resize", "frame_step")


@dataclass
class VideosOptions:
    """``data.options`` of videos (see the module docstring).

    image_size : 64 or 128 (the backbones' sizes). channels : 1 (grey) or 3 (colour).
    resize : crop (shorter side scaled, centre kept) | squash (aspect ratio not kept).
    frame_step : keep every k-th frame (k ≥ 1).
    val_fraction, test_fraction : shares of the hash split (ignored with train/ val/ test/ folders).
    seed : seed of the fixed val/test clips (None: 0).
    length : items of a split (default: train 100000, an epoch's index range; val and test
        256, or the number of distinct clips when fewer).
    clip_len : frames of each fixed val/test clip; must cover n_past + eval_n_future.
    """
    image_size: int = 64
    channels: int = 3
    resize: str = "crop"
    frame_step: int = 1
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: Optional[int] = None
    length: Optional[int] = None
    clip_len: int = CLIP_LEN


def check_options(o: VideosOptions) -> None:
    """Refuse option values that cannot work, in one line naming the option."""
    if o.image_size not in IMAGE_SIZES:
        raise UserError(f"videos option image_size must be 64 or 128 (the backbones' frame sizes), "
                        f"got {o.image_size!r}")
    if o.channels not in CHANNELS:
        raise UserError(f"videos option channels must be 1 (grey) or 3 (colour), got {o.channels!r}")
    if o.resize not in RESIZE_MODES:
        raise UserError(f"videos option resize must be one of {', '.join(RESIZE_MODES)}, got {o.resize!r}")
    check_positive((("frame_step", o.frame_step), ("length", o.length), ("clip_len", o.clip_len)),
                   "videos")
    for name in ("val_fraction", "test_fraction"):
        value = getattr(o, name)
        if not 0 <= value < 1:
            raise UserError(f"videos option {name} must lie in [0, 1), got {value!r}")
    if o.val_fraction + o.test_fraction >= 1:
        raise UserError(f"videos options val_fraction + test_fraction must be below 1 (something "
                        f"must be left to train on), got {o.val_fraction} + {o.test_fraction}")


def frame_settings(o) -> dict:
    """The options that decide the frames, as a dict (what a conversion records)."""
    return {k: getattr(o, k) for k in FRAME_SETTINGS}


def conversion_flags(settings: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')} {settings[k]}" for k in FRAME_SETTINGS)


def read_manifest(root: str) -> dict:
    """The manifest of a finished ``svg convert-videos`` output folder."""
    path = os.path.join(root, MANIFEST)
    try:
        with open(path) as f:
            manifest = json.load(f)
        for key in FRAME_SETTINGS + ("videos", "folders"):
            manifest[key]
        for v in manifest["videos"]:
            v["key"], v["file"], v["frames"], v["source_bytes"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a `svg convert-videos` manifest ({e!r}); convert again") from None
    if manifest.get("dataset") != "videos":
        raise UserError(f"{path}: a manifest of {manifest.get('dataset')!r}, not of "
                        f"`svg convert-videos`; use the matching data.name")
    return manifest


class Videos(ClipDataset):
    """Clips of your own videos; items (seq_len, C, S, S) float32 in [0, 1] (:class:`ClipDataset`).

    videos : :class:`SourceVideo` (read with PyAV, PIL or NumPy and fitted) or, with
        ``converted``, ``svg convert-videos`` arrays (key, path, frames; read memory-mapped).
    """

    def __init__(self, videos: List, seq_len: int, options: VideosOptions, converted: bool = False,
                 clips: Optional[List[Tuple[int, int]]] = None, length: int = TRAIN_LENGTH):
        super().__init__(videos, seq_len, clips, length)
        self.options, self.converted = options, converted

    def fit(self, frames: np.ndarray) -> np.ndarray:
        """(t, H, W, C) uint8 → (t, S, S, channels) uint8, as ``svg predict`` fits its inputs."""
        o = self.options
        return fit_frames(frames, o.image_size, o.channels, o.resize)

    def read(self, video, start: int, n: int) -> np.ndarray:
        if not self.converted:
            return read_frames(video, self.fit, start, n)
        o = self.options
        if not os.path.exists(video.path):
            raise MissingFile(f"{video.path} is missing from the conversion; re-run `svg convert-videos`")
        data = load_array(video.path, mmap_mode="r")
        want = (video.frames, o.image_size, o.image_size, o.channels)
        if data.dtype != np.uint8 or data.shape != want:
            raise UserError(f"{video.path}: expected uint8 {want} (from {MANIFEST}), got {data.dtype} "
                            f"{data.shape}; re-run `svg convert-videos`")
        return np.array(data[start:start + n])


@dataclass(frozen=True)
class ConvertedVideo:
    """A video of a ``svg convert-videos`` folder: its key, array file and frame count."""
    key: str
    path: str
    frames: int

    @property
    def name(self) -> str:
        return self.key


def split_counts(keys: Iterable[str], folders: bool, o: VideosOptions) -> Dict[str, int]:
    """Videos per split (train, val, test) of the keys under the folder or hash rule."""
    counts = {"train": 0, "val": 0, "test": 0}
    for key in keys:
        split = split_of(key, folders, o.val_fraction, o.test_fraction)
        if split is not None:
            counts[split] += 1
    return counts


def _converted_split(root: str, split: str, o: VideosOptions
                     ) -> Tuple[List[ConvertedVideo], bool, Dict[str, int]]:
    """(the split's videos, whether split by folders, videos per split) of a conversion."""
    manifest = read_manifest(root)
    made, asked = {k: manifest[k] for k in FRAME_SETTINGS}, frame_settings(o)
    if made != asked:
        differ = ", ".join(f"{k} {made[k]} (options: {asked[k]})" for k in FRAME_SETTINGS if made[k] != asked[k])
        raise UserError(f"{root} was converted with {differ}; convert the source again into a new "
                        f"folder with `svg convert-videos SRC DST {conversion_flags(asked)}`, or set "
                        f"the options to match")
    folders = bool(manifest["folders"])
    counts = split_counts((v["key"] for v in manifest["videos"]), folders, o)
    _announce(root, folders, len(manifest["videos"]), o, counts, converted=True)
    videos = [ConvertedVideo(v["key"], os.path.join(root, v["file"]), int(v["frames"]))
              for v in manifest["videos"]
              if split_of(v["key"], folders, o.val_fraction, o.test_fraction) == split]
    if manifest.get("skipped"):
        warnings.warn(f"videos: {root}: {len(manifest['skipped'])} source file(s) could not be "
                      f"converted and are not used (listed under 'skipped' in {MANIFEST})",
                      InputWarning, stacklevel=3)
    return videos, folders, counts


def _announce(root: str, folders: bool, n: int, o: VideosOptions, counts: Dict[str, int],
              converted: bool = False) -> None:
    """Log how the videos are split and how many each split received (each time a split is
    built)."""
    rule = ("the train/ val/ test/ folders" if folders else
            f"{HASH_RULE}; val_fraction {o.val_fraction}, test_fraction {o.test_fraction}")
    log.info("videos: %s%s: %d videos, split by %s: %s", root, " (svg convert-videos output)"
             if converted else "", n, rule, _counts_text(counts))


def _counts_text(counts: Dict[str, int]) -> str:
    return ", ".join(f"{split} {n}" for split, n in counts.items())


def _raw_split(root: str, split: str, o: VideosOptions) -> Tuple[List[SourceVideo], bool, Dict[str, int]]:
    """(the split's readable videos, counted, whether split by folders, videos per split) of a
    folder."""
    if os.path.exists(os.path.join(root, CONVERTING)):
        raise UserError(f"{root}: an unfinished `svg convert-videos` output ({CONVERTING}, no "
                        f"{MANIFEST}); re-run the same command to finish it")
    videos, broken, other = find_videos(root)
    folders = has_split_folders(root)
    if not videos and not broken:
        raise MissingFile(f"{root} holds no videos; expected {WHAT}")
    counts = split_counts((v.key for v in videos), folders, o)
    _announce(root, folders, len(videos), o, counts)
    where = f"videos {split}"
    if other:
        log.info("%s: %d file(s) of other kinds are not videos and are not used: %s", root, len(other),
                 ", ".join(other[:5]) + (" …" if len(other) > 5 else ""))
    if folders:
        outside = [v.key for v in videos if split_of(v.key, True, 0, 0) is None]
        if outside:
            log.info("%s: %d video(s) outside train/ val/ test/ are not used: %s", root, len(outside),
                     ", ".join(outside[:5]) + (" …" if len(outside) > 5 else ""))
    mine = [v for v in videos if split_of(v.key, folders, o.val_fraction, o.test_fraction) == split]
    ok, bad = [], list(broken)
    for v in mine:
        try:
            ok.append(counted(v, o.frame_step))
        except UserError as e:
            bad.append((v.path, str(e)))
    if bad:
        warnings.warn(f"{where}: skipped {len(bad)} file(s) that cannot be read: "
                      + "; ".join(reason if reason.startswith(path) else f"{path}: {reason}"
                                  for path, reason in bad[:10]) + (" …" if len(bad) > 10 else ""),
                      InputWarning, stacklevel=3)
        if mine and not ok:
            raise UserError(f"{where}: none of the {len(mine)} videos of {root}'s {split} split can be read")
    report_truncated(ok, where)
    return ok, folders, counts


def videos_dataset(root: str, split: str, seq_len: int, o: VideosOptions) -> Videos:
    """The ``split`` of the videos under ``root`` (see the module docstring)."""
    check_options(o)
    converted = os.path.exists(os.path.join(root, MANIFEST))
    videos, folders, counts = (_converted_split if converted else _raw_split)(root, split, o)
    if not videos:
        total = sum(counts.values())
        fraction = {"train": "1 - val_fraction - test_fraction"}.get(split, f"{split}_fraction")
        how = (f"{os.path.join(root, split)} holds no videos" if folders else
               f"none of its {total} videos hashes into {split} ({fraction} = "
               f"{1 - o.val_fraction - o.test_fraction if split == 'train' else getattr(o, fraction):.3g})")
        raise UserError(f"videos {split} split of {root} is empty: {how}; add videos, or put them in "
                        f"train/ val/ test/ folders to choose the splits yourself (below about 40 "
                        f"videos, choose them: docs/data.md). Videos per split: {_counts_text(counts)}")
    where = f"videos {split}"
    if split == "train":
        return Videos(long_enough(videos, seq_len, where), seq_len, o, converted,
                      length=o.length or TRAIN_LENGTH)
    n = o.length or (lambda kept: min(FIXED_CLIPS, sum(v.frames - o.clip_len + 1 for v in kept)))
    videos, clips = fixed_clips(videos, split, seq_len, o.clip_len, n, o.seed, where,
                                hint="; set data.options.clip_len to at least n_past + eval_n_future")
    return Videos(videos, seq_len, o, converted, clips)


def build_videos(split: str, root: Optional[str], seq_len: int, o: VideosOptions) -> Videos:
    """Your own videos under ``root``: train/ val/ test/ folders, else a hash split by path."""
    if root is None:
        raise UserError(f"videos needs data.root: a folder of {WHAT}, or a `svg convert-videos` "
                        f"output folder")
    return videos_dataset(root, split, seq_len, o)


register_dataset(DatasetEntry("videos", build_videos, channels=lambda o: o.channels,
                              image_size=lambda o: o.image_size, n_future=10, eval_n_future=20,
                              Options=VideosOptions))
