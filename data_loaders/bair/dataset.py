"""BAIR robot pushing (softmotion30_44k): 30-frame 64×64×3 videos in three on-disk formats.

- ``tfrecords``: the original ``{train,test}/*.tfrecords`` (read without TensorFlow);
- ``converted``: the output of ``svg convert-bair`` — per split, ``videos.npy`` (N, 30, 64, 64, 3)
  uint8, ``actions.npy`` (N, 30, 4), ``endeffector.npy`` (N, 30, 3), memory-mapped, and
  ``manifest.json`` written last (a split without it is an unfinished conversion);
- ``png``: the original SVG conversion, ``processed_data/{train,test}/<record>/<k>/<t>.png``.

Items are (seq_len, 3, 64, 64) float32 in [0, 1] (or a dict with ``actions`` (seq_len, 4) and
``endeffector`` (seq_len, 3) when asked). Training clips start at a random frame (torch's global
generator); val and test clips start at frame 0.

Splits: ``test`` is the ``test/`` folder (256 videos, ``traj_0_to_255``); ``val`` is the last
``val_videos`` (default 256) videos of the ``train/`` folder in sorted file order, and ``train``
the rest of it.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from core.errors import MissingFile, UserError

from data_loaders.common.base import DatasetEntry, VideoDataset, register_dataset
from data_loaders.common.files import load_array, load_json, read_image
from data_loaders.common.splits import check_split
from data_loaders.bair.tfrecords import read_example, scan_records

FRAMES, SIZE = 30, 64
CAMERAS = ("image_aux1", "image_main")
MANIFEST = "manifest.json"


def list_records(folder: str) -> List[str]:
    """Sorted ``*.tfrecords`` in ``folder``; a missing or empty folder is an error."""
    if not os.path.isdir(folder):
        raise MissingFile(f"BAIR folder {folder} does not exist")
    paths = sorted(glob.glob(os.path.join(folder, "*.tfrecords")))
    if not paths:
        raise MissingFile(f"no *.tfrecords in {folder}")
    return paths


def decode_example(example, where: str, camera: str = "image_aux1"
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames (30, 64, 64, 3) uint8, actions (30, 4), endeffector (30, 3)) of one Example."""
    feats = example.features.feature
    frames = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)
    actions = np.empty((FRAMES, 4), np.float32)
    endeff = np.empty((FRAMES, 3), np.float32)
    for t in range(FRAMES):
        key = f"{t}/{camera}/encoded"
        if key not in feats:
            raise UserError(f"{where}: no feature {key!r}")
        raw = feats[key].bytes_list.value
        if len(raw) != 1 or len(raw[0]) != SIZE * SIZE * 3:
            got = [len(r) for r in raw]
            raise UserError(f"{where}: {key!r} holds {got} bytes; expected one raw 64×64×3 uint8 "
                            f"frame ({SIZE * SIZE * 3} bytes)")
        frames[t] = np.frombuffer(raw[0], np.uint8).reshape(SIZE, SIZE, 3)
        for name, out, n in ((f"{t}/action", actions, 4), (f"{t}/endeffector_pos", endeff, 3)):
            vals = feats[name].float_list.value if name in feats else []
            if len(vals) != n:
                raise UserError(f"{where}: {name!r} holds {len(vals)} floats; expected {n}")
            out[t] = vals
    return frames, actions, endeff


class _BAIRBase(VideoDataset):
    def __init__(self, seq_len: int, split: str, with_actions: bool):
        if not 1 <= seq_len <= FRAMES:
            raise UserError(f"seq_len {seq_len} does not fit BAIR's {FRAMES}-frame videos")
        self.seq_len, self.split, self.with_actions = seq_len, check_split(split), with_actions

    def _start(self) -> int:
        if self.split != "train":
            return 0
        return int(torch.randint(FRAMES - self.seq_len + 1, ()))

    def _item(self, frames: np.ndarray, actions=None, endeff=None, start=None
              ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """Clip of ``seq_len`` frames from ``start`` (default: drawn by split); with ``start=0`` and
        pre-cut frames, the caller has already chosen the clip."""
        s = self._start() if start is None else start
        clip = torch.from_numpy(np.array(frames[s:s + self.seq_len]))   # uint8 (T, H, W, 3), a copy
        x = self.frames_out(clip.permute(0, 3, 1, 2))
        if not self.with_actions:
            return x
        return {"frames": x, "actions": torch.from_numpy(np.array(actions[s:s + self.seq_len])),
                "endeffector": torch.from_numpy(np.array(endeff[s:s + self.seq_len]))}


class BAIRTFRecords(_BAIRBase):
    """Reads the original TFRecords: an index of record offsets is built once, then random access."""

    def __init__(self, folder: str, seq_len: int, split: str = "train", camera: str = "image_aux1",
                 with_actions: bool = False):
        super().__init__(seq_len, split, with_actions)
        if camera not in CAMERAS:
            raise UserError(f"unknown camera {camera!r}; choose one of {CAMERAS}")
        self.camera = camera
        self.index = [(path, off, n) for path in list_records(folder) for off, n in scan_records(path)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        self.check_index(i)
        path, off, n = self.index[i]
        return self._item(*decode_example(read_example(path, off, n), f"{path} (byte {off - 12})",
                                          self.camera))


class BAIRConverted(_BAIRBase):
    """Reads ``svg convert-bair`` output: memory-mapped uint8 arrays."""

    def __init__(self, folder: str, seq_len: int, split: str = "train", with_actions: bool = False):
        super().__init__(seq_len, split, with_actions)
        manifest = os.path.join(folder, MANIFEST)
        if not os.path.exists(manifest):
            raise MissingFile(f"{folder}: no {MANIFEST}, so this is not a finished conversion; "
                              f"re-run `svg convert-bair` to complete it")
        self.manifest = load_json(manifest)
        if not isinstance(self.manifest, dict) or not isinstance(self.manifest.get("videos"), int):
            raise UserError(f"{manifest}: expected a JSON object with an integer 'videos' count")
        self.videos = load_array(os.path.join(folder, "videos.npy"), mmap_mode="r")
        expected = (self.manifest["videos"], FRAMES, SIZE, SIZE, 3)
        if self.videos.shape != expected or self.videos.dtype != np.uint8:
            raise UserError(f"{folder}/videos.npy: expected uint8 {expected}, got {self.videos.dtype} "
                            f"{self.videos.shape}")
        self.actions = load_array(os.path.join(folder, "actions.npy"), mmap_mode="r")
        self.endeff = load_array(os.path.join(folder, "endeffector.npy"), mmap_mode="r")

    def __len__(self) -> int:
        return self.videos.shape[0]

    def __getitem__(self, i: int):
        self.check_index(i)
        return self._item(self.videos[i], self.actions[i], self.endeff[i])


class BAIRPngFolders(_BAIRBase):
    """Reads the original SVG conversion: ``<split folder>/<record>/<k>/<t>.png`` (no actions)."""

    def __init__(self, folder: str, seq_len: int, split: str = "train"):
        super().__init__(seq_len, split, False)
        if not os.path.isdir(folder):
            raise MissingFile(f"BAIR PNG folder {folder} does not exist")
        self.dirs = sorted(glob.glob(os.path.join(folder, "*", "*")),
                           key=lambda p: (os.path.dirname(p), int(os.path.basename(p))
                                          if os.path.basename(p).isdigit() else -1))
        self.dirs = [d for d in self.dirs if os.path.isdir(d)]
        if not self.dirs:
            raise MissingFile(f"no <record>/<k>/ video folders in {folder}")

    def __len__(self) -> int:
        return len(self.dirs)

    def __getitem__(self, i: int):
        self.check_index(i)
        start = self._start()   # decode only the clip's frames
        frames = np.empty((self.seq_len, SIZE, SIZE, 3), np.uint8)
        for k, t in enumerate(range(start, start + self.seq_len)):
            path = os.path.join(self.dirs[i], f"{t}.png")
            if not os.path.exists(path):
                raise MissingFile(f"{path} is missing (BAIR videos have {FRAMES} frames)")
            img = read_image(path)
            if img.shape[:2] != (SIZE, SIZE) or img.dtype != np.uint8:
                raise UserError(f"{path}: expected a {SIZE}×{SIZE} uint8 image, got {img.dtype} {img.shape}")
            frames[k] = img[..., :3] if img.ndim == 3 else img[..., None]
        return self._item(frames, start=0)


def detect_format(root: str, split: str) -> str:
    """converted | tfrecords | png, from what ``root/split`` holds."""
    folder = os.path.join(root, split)
    if os.path.exists(os.path.join(folder, MANIFEST)) or os.path.exists(os.path.join(folder, "videos.npy")):
        return "converted"
    if glob.glob(os.path.join(folder, "*.tfrecords")):
        return "tfrecords"
    if glob.glob(os.path.join(folder, "*", "*", "0.png")):
        return "png"
    raise MissingFile(f"no BAIR data in {folder}: looked for {MANIFEST} (converted), *.tfrecords, "
                      f"and <record>/<k>/0.png (PNG folders)")


def _folder_dataset(root: str, split: str, seq_len: int, format: str, camera: str,
                    with_actions: bool) -> Dataset:
    """Every video of the folder ``split`` reads from (val reads ``train/``)."""
    folder_name = "test" if split == "test" else "train"
    fmt = detect_format(root, folder_name) if format == "auto" else format
    folder = os.path.join(root, folder_name)
    if fmt == "tfrecords":
        return BAIRTFRecords(folder, seq_len, split, camera, with_actions)
    if fmt == "converted":
        return BAIRConverted(folder, seq_len, split, with_actions)
    if fmt == "png":
        if with_actions:
            raise UserError("PNG folders hold no actions; use the TFRecords or the converted format")
        return BAIRPngFolders(folder, seq_len, split)
    raise UserError(f"unknown BAIR format {format!r}; choose auto, tfrecords, converted or png")


def bair_dataset(root: str, split: str, seq_len: int, format: str = "auto", camera: str = "image_aux1",
                 with_actions: bool = False, val_videos: int = 256) -> Dataset:
    """The BAIR ``split`` (train, val, test) under ``root`` in the given (or detected) format.

    ``val`` is the last ``val_videos`` videos of ``train/`` in sorted file order, ``train`` the
    videos before them (``val_videos=0``: all of ``train/``, and no val split).
    """
    check_split(split)
    data = _folder_dataset(root, split, seq_len, format, camera, with_actions)
    if split == "test":
        return data
    n = len(data)
    if not 0 <= val_videos < n:
        raise UserError(f"BAIR {os.path.join(root, 'train')}: val_videos={val_videos} must be at least 0 "
                        f"and below its {n} training videos")
    if split == "val" and val_videos == 0:
        raise UserError("BAIR: the val split is empty (data.options.val_videos=0)")
    lo, hi = (0, n - val_videos) if split == "train" else (n - val_videos, n)
    return Subset(data, range(lo, hi))


@dataclass
class BAIROptions:
    """``data.options`` of bair: the on-disk format (auto | tfrecords | converted | png), the
    camera, dict items with actions (for user code; training and evaluation refuse it) and how
    many of the last training videos are val."""
    format: str = "auto"
    camera: str = "image_aux1"
    with_actions: bool = False
    val_videos: int = 256


def build_bair(split: str, root: Optional[str], seq_len: int, o: BAIROptions) -> Dataset:
    """train: the training records but the last val_videos videos (in sorted file order), which are
    val; test: the test records (256 videos, ``traj_0_to_255``)."""
    if root is None:
        raise UserError("bair needs data.root: softmotion30_44k (TFRecords), a `svg convert-bair` "
                        "output folder, or SVG's processed_data (PNG folders)")
    return bair_dataset(root, split, seq_len, o.format, o.camera, o.with_actions, o.val_videos)


register_dataset(DatasetEntry("bair", build_bair, channels=3, image_size=64, n_future=10,
                              eval_n_future=28, Options=BAIROptions))
