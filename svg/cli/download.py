"""``svg download bair|kth|mnist [DIR]``: fetch a dataset, verify it, unpack and convert it into DIR.

DIR defaults to the ``data.root`` of the dataset's config (``data/bair``, ``data/kth``), so from
an empty disk BAIR is ``svg download bair`` then ``svg train --config configs/bair.yaml``.

What each does (the HTTP, resume and checksum work is :mod:`data_loaders.common.fetch`, the
archives' integrity and unpacking :mod:`data_loaders.common.archives`, the conversion the
existing converters):

- **bair**: ``DIR/raw/bair_robot_pushing_dataset_v0.tar`` (about 30 GB), its tar structure read
  whole before it gets its name; the ``softmotion30_44k/{train,test}/*.tfrecords`` members
  unpacked into ``DIR/raw/softmotion30_44k``; every record checked as ``svg check-data`` does
  (framing, both CRC-32C, decodes as a 30-frame BAIR video); the tar removed (``--keep-archives``
  keeps it); then ``svg convert-bair DIR/raw/softmotion30_44k DIR``.
- **kth**: the six ``{class}.zip`` into ``DIR/raw/``, each zip's CRC-32s checked before it gets
  its name; its AVIs unpacked into ``DIR/raw/{class}/`` and the zip removed (unless kept); the
  videos listed as the KTH loader lists them (names, frame counts from the AVI headers); then
  ``svg convert-kth DIR/raw DIR``.
- **mnist**: the four MNIST idx ``.gz`` files into DIR, each checked against the MD5 that
  torchvision publishes; then read back by the loader Stochastic Moving MNIST uses with
  ``data.root=DIR`` (60000 training and 10000 test digits).

Re-running resumes: a ``.part`` download continues with an HTTP Range request, unpacked files and
converted videos already complete are kept, a finished step is skipped. A DIR holding files this
command does not write is refused unless ``--overwrite``.
"""
from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import sys
import urllib.parse
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from core.errors import InputWarning, UserError

from data_loaders.common.archives import Member, check_tar, check_zip, extract, list_members
from core.atomic_files import write_text
from data_loaders.common.fetch import PART, fetch
from data_loaders.common.files import load_json
from core.owned_files import OVERWRITE_FOLDER_HELP, check_writable, refuse_foreign


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: its name, its URLs (official first, then mirrors) and, where one
    is published, its MD5."""
    name: str
    urls: Tuple[str, ...]
    md5: Optional[str] = None


@dataclass(frozen=True)
class Source:
    """A dataset ``svg download`` knows: its files, the folder its config reads, and the command
    to run next."""
    files: Tuple[Remote, ...]
    default_dir: str
    config: str
    size: str


BAIR_TAR = "bair_robot_pushing_dataset_v0.tar"
BAIR_RECORDS = "softmotion30_44k"
# the KTH loader's CLASSES (a test checks they agree), written here so that --help needs no PyAV
KTH_CLASSES = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
KTH_VIDEOS = {c: 99 if c == "handclapping" else 100 for c in KTH_CLASSES}   # person13_handclapping_d3 is missing
KTH_MIRRORS = ("https://www.csc.kth.se/cvap/actions/", "http://www.csc.kth.se/cvap/actions/",
               "http://www.nada.kth.se/cvap/actions/")
# torchvision's MNIST resources: the files and their MD5s, and the mirrors it and others use
MNIST_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "http://yann.lecun.com/exdb/mnist/")
MNIST_DIGITS = {"train": 60000, "test": 10000}

SOURCES: Dict[str, Source] = {
    "bair": Source((Remote(BAIR_TAR, ("http://rail.eecs.berkeley.edu/datasets/" + BAIR_TAR,)),),
                   "data/bair", "configs/bair.yaml", "one tar of about 30 GB"),
    "kth": Source(tuple(Remote(f"{c}.zip", tuple(m + f"{c}.zip" for m in KTH_MIRRORS)) for c in KTH_CLASSES),
                  "data/kth", "configs/kth.yaml", "six zips of AVIs"),
    "mnist": Source(tuple(Remote(n, tuple(m + n for m in MNIST_MIRRORS), md5) for n, md5 in MNIST_MD5.items()),
                    "data/mnist", "configs/smmnist.yaml", "four .gz files, about 12 MB"),
}

EXTRACTED = ".extracted.json"          # beside an archive: what was unpacked from it, and sizes
BAIR_CHECKED = "raw/bair_records.checked.json"


def log(message: str) -> None:
    """A note for the user on stderr, printed so that a running progress bar stays intact."""
    tqdm.write(message, file=sys.stderr)


def resolve_urls(dataset: str, overrides: Sequence[str]) -> Dict[str, List[str]]:
    """URLs to try per file of ``dataset``: the defaults, or those ``--url`` gives.

    A ``--url`` ending in ``/`` is a folder holding every file of the dataset (a mirror); any
    other must end in one of the dataset's file names and replaces the defaults of that file
    only (BAIR has one file, so any URL is its). Several URLs of a file are tried in the order
    given. An URL that names none of the files is an error listing them.
    """
    files = SOURCES[dataset].files
    chosen: Dict[str, List[str]] = {f.name: [] for f in files}
    for url in overrides:
        scheme = urllib.parse.urlparse(url).scheme
        if scheme not in ("http", "https", "file"):
            raise UserError(f"--url {url}: expected an http://, https:// or file:// URL")
        if url.endswith("/"):
            for f in files:
                chosen[f.name].append(url + f.name)
            continue
        name = posixpath.basename(urllib.parse.urlparse(url).path)
        if len(files) == 1:
            chosen[files[0].name].append(url)
        elif name in chosen:
            chosen[name].append(url)
        else:
            raise UserError(f"--url {url}: its file {name!r} is none of {dataset}'s "
                            f"({', '.join(chosen)}); give one URL per file, or a folder URL "
                            f"ending in '/' that holds them all")
    return {f.name: chosen[f.name] or list(f.urls) for f in files}


# ---------------------------------------------------------------------------------------------
# What this command writes in DIR (the overwrite guard of core.owned_files)

def _archive_files(names: Sequence[str]) -> set:
    return {f"raw/{n}{suffix}" for n in names for suffix in ("", PART, EXTRACTED)}


def written_here(dataset: str, root: str) -> Callable[[str], bool]:
    """Which files under ``root`` (paths relative to it, ``/``-separated) an earlier
    ``svg download DATASET`` (or the converter it runs) wrote."""
    names = [f.name for f in SOURCES[dataset].files]
    if dataset == "mnist":
        fixed = ({n for n in names} | {n + PART for n in names}
                 | {f"MNIST/raw/{n[:-3]}" for n in names})   # decompressed there by the loader
        return fixed.__contains__
    fixed = _archive_files(names)
    if dataset == "bair":
        def ours(rel: str) -> bool:
            parts = rel.split("/")
            if rel in fixed or rel == BAIR_CHECKED:
                return True
            if len(parts) == 4 and parts[:2] == ["raw", BAIR_RECORDS] and parts[2] in ("train", "test"):
                return parts[3].endswith(".tfrecords")
            # the converter's rule: files of a split folder that holds its manifest
            return len(parts) == 2 and parts[0] in ("train", "test") and os.path.exists(
                os.path.join(root, parts[0], "manifest.json"))
        return ours
    from data_loaders.kth.convert import written_here as converted_here
    converted = converted_here(root)
    video = re.compile(r"^raw/([a-z]+)/person\d\d_([a-z]+)_d\d_uncomp\.avi$")

    def ours(rel: str) -> bool:
        m = video.match(rel)
        return rel in fixed or converted(rel) or (m is not None and m.group(1) == m.group(2))
    return ours


# ---------------------------------------------------------------------------------------------
# Archives: fetched and checked, then unpacked once (a marker lists what came out)

def _unpacked(marker: str, root: str) -> bool:
    """Whether every file the ``marker`` lists is there with its size (then the archive is not
    needed again)."""
    if not os.path.exists(marker):
        return False
    try:
        files = load_json(marker)["files"]
        return all(os.path.exists(os.path.join(root, rel)) and os.path.getsize(os.path.join(root, rel)) == size
                   for rel, size in files.items())
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def fetch_and_unpack(remote: Remote, urls: List[str], root: str,
                     plan: Callable[[List[Member], str], Dict[str, str]],
                     check: Callable[[str, str], List[Member]], keep: bool, progress: bool) -> bool:
    """Fetch ``remote`` into ``root/raw`` (verified with ``check``), unpack the members ``plan``
    maps to destinations (relative to ``root``), record them beside the archive, and remove the
    archive unless ``keep``. Returns False when an earlier run had already unpacked it all."""
    archive = os.path.join(root, "raw", remote.name)
    marker = archive + EXTRACTED
    if _unpacked(marker, root):
        return False

    def verify(part: str) -> None:
        plan(check(part, archive), archive)   # an intact archive of the wrong contents is refused too

    fetch(urls, archive, remote.md5, verify, progress, log)
    members = list_members(archive)
    destinations = plan(members, archive)
    extract(archive, {m: os.path.join(root, rel) for m, rel in destinations.items()}, archive, progress)
    sizes = {m.name: m.size for m in members}
    write_text(marker, json.dumps({"archive": remote.name, "files": {
        rel: sizes[m] for m, rel in sorted(destinations.items())}}, indent=1))
    if not keep:
        os.remove(archive)
    return True


def bair_plan(members: List[Member], where: str) -> Dict[str, str]:
    """member -> ``raw/softmotion30_44k/{split}/NAME.tfrecords`` for the BAIR tar's records; an
    archive without records of both splits is not the BAIR tar."""
    plan, found = {}, {"train": 0, "test": 0}
    for m in members:
        parts = posixpath.normpath(m.name).split("/")
        if len(parts) >= 2 and parts[-2] in found and parts[-1].endswith(".tfrecords"):
            plan[m.name] = f"raw/{BAIR_RECORDS}/{parts[-2]}/{parts[-1]}"
            found[parts[-2]] += 1
    if not all(found.values()):
        raise UserError(f"{where} holds {found['train']} train and {found['test']} test "
                        f"{BAIR_RECORDS}/{{train,test}}/*.tfrecords files; expected the BAIR robot "
                        f"pushing tar with both")
    return plan


def kth_plan(action: str) -> Callable[[List[Member], str], Dict[str, str]]:
    """member -> ``raw/{class}/person{PP}_{class}_d{S}_uncomp.avi`` for the AVIs of one class's
    zip (folders inside the zip are ignored: only the file name counts)."""
    name = re.compile(rf"^person\d\d_{action}_d\d_uncomp\.avi$")

    def plan(members: List[Member], where: str) -> Dict[str, str]:
        found = {m.name: f"raw/{action}/{posixpath.basename(m.name)}" for m in members
                 if name.match(posixpath.basename(m.name))}
        if not found:
            raise UserError(f"{where} holds no person{{PP}}_{action}_d{{S}}_uncomp.avi video; "
                            f"expected KTH's {action}.zip")
        return found
    return plan


# ---------------------------------------------------------------------------------------------
# The three datasets

def download_bair(root: str, urls: Dict[str, List[str]], keep: bool, progress: bool) -> List[str]:
    from data_loaders.bair.check import check_files
    from data_loaders.bair.convert import convert

    if _converted_without_sources(root, [os.path.join(s, "manifest.json") for s in ("train", "test")]):
        return [f"{root} holds a finished conversion and no raw/ folder; nothing to do"]
    fetch_and_unpack(SOURCES["bair"].files[0], urls[BAIR_TAR], root, bair_plan,
                     lambda p, label: check_tar(p, label, progress), keep, progress)
    records = os.path.join(root, "raw", BAIR_RECORDS)
    files = sorted(os.path.join(records, s, n) for s in ("train", "test")
                   for n in os.listdir(os.path.join(records, s))
                   if n.endswith(".tfrecords") and not n.startswith("."))   # not a temporary
    sources = {os.path.relpath(p, root): os.path.getsize(p) for p in files}
    checked = os.path.join(root, BAIR_CHECKED)
    if not (os.path.exists(checked) and _json_or_none(checked) == sources):
        result = check_files(files, progress=progress)     # what `svg check-data` runs
        if result["problems"]:
            n, shown = len(result["problems"]), "; ".join(result["problems"][:3])
            raise UserError(f"the downloaded BAIR records are damaged ({n} bad record{'s' * (n != 1)}; "
                            f"first: {shown}); delete {os.path.join(root, 'raw')} and download again")
        write_text(checked, json.dumps(sources, indent=1))
    # overwrite=True: this command has already refused a DIR holding files it did not write,
    # with a rule that also knows its own raw/ folder (the converter's would refuse it)
    done = convert(records, root, progress=progress, overwrite=True)
    return [f"{split}: {m['videos']} videos from {len(m['sources'])} records → {os.path.join(root, split)}"
            for split, m in done.items()]


def download_kth(root: str, urls: Dict[str, List[str]], keep: bool, progress: bool) -> List[str]:
    from data_loaders.kth.convert import convert
    from data_loaders.kth.files import list_videos

    if _converted_without_sources(root, ["manifest.json"]):
        return [f"{root} holds a finished conversion and no raw/ folder; nothing to do"]
    for remote in SOURCES["kth"].files:
        action = remote.name[:-len(".zip")]
        if fetch_and_unpack(remote, urls[remote.name], root, kth_plan(action),
                            check_zip, keep, progress):
            n = sum(not f.startswith(".") for f in os.listdir(os.path.join(root, "raw", action)))
            if n != KTH_VIDEOS[action]:
                warnings.warn(f"{remote.name} held {n} {action} videos; KTH's own has "
                              f"{KTH_VIDEOS[action]}", InputWarning)
    raw = os.path.join(root, "raw")
    list_videos(raw)                       # the loader's check: every name, every AVI header
    # overwrite=True: see download_bair
    m = convert(raw, root, progress=progress, overwrite=True)
    lines = [f"{len(m['videos'])} videos, {sum(v['frames'] for v in m['videos'])} frames of "
             f"{m['size']}×{m['size']} → {root}"]
    lines += [f"truncated source: {v['name']}: {v['frames']} of the {v['declared_frames']} frames its "
              f"header declares decode; those are kept" for v in m["videos"] if v["name"] in m["truncated"]]
    return lines


def download_mnist(root: str, urls: Dict[str, List[str]], keep: bool, progress: bool) -> List[str]:
    from data_loaders.mnist.digits import load_digits

    for remote in SOURCES["mnist"].files:
        fetch(urls[remote.name], os.path.join(root, remote.name), remote.md5, None, progress, log)
    lines = []
    for split, expected in MNIST_DIGITS.items():
        digits, _ = load_digits(root, split)          # what smmnist reads with data.root=DIR
        if len(digits) != expected:
            warnings.warn(f"MNIST {split}: {len(digits)} digits read from {root}; the official "
                          f"files hold {expected}", InputWarning)
        lines.append(f"{split}: {len(digits)} digits")
    return [", ".join(lines) + f" → {root}"]


def _converted_without_sources(root: str, manifests: List[str]) -> bool:
    """Whether ``root`` holds a finished conversion whose ``raw/`` sources were deleted (to save
    space): then there is nothing to do, rather than everything to download again."""
    return not os.path.exists(os.path.join(root, "raw")) and all(
        os.path.exists(os.path.join(root, m)) for m in manifests)


def _json_or_none(path: str):
    try:
        return load_json(path)
    except ValueError:
        return None


PIPELINES = {"bair": download_bair, "kth": download_kth, "mnist": download_mnist}


def download(dataset: str, root: Optional[str] = None, urls: Sequence[str] = (), keep_archives: bool = False,
             progress: bool = True, overwrite: bool = False) -> List[str]:
    """Fetch, verify, unpack and convert ``dataset`` into ``root``; returns the summary lines.

    Parameters
    ----------
    dataset : ``bair``, ``kth`` or ``mnist``.
    root : the folder to fill (default: the dataset's config's ``data.root``).
    urls : ``--url`` overrides (see :func:`resolve_urls`).
    keep_archives : keep the tar / zips after unpacking them (default: removed once unpacked).
    progress : progress bars on stderr.
    overwrite : fill ``root`` even if it holds files this command did not write.
    """
    if dataset not in SOURCES:
        raise UserError(f"unknown dataset {dataset!r}; choose one of {', '.join(SOURCES)}")
    root = root or SOURCES[dataset].default_dir
    chosen = resolve_urls(dataset, urls)
    check_writable(root, "DIR")
    refuse_foreign(root, written_here(dataset, root), "DIR", "download into a new or empty folder", overwrite)
    os.makedirs(root, exist_ok=True)
    return PIPELINES[dataset](root, chosen, keep_archives, progress)


def next_step(dataset: str, root: str) -> str:
    """The command that trains on what was downloaded."""
    source = SOURCES[dataset]
    extra = "" if os.path.normpath(root) == os.path.normpath(source.default_dir) and dataset != "mnist" \
        else f" data.root={root}"
    return f"svg train --config {source.config}{extra}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", choices=sorted(SOURCES), help="which dataset: " + "; ".join(
        f"{k}: {v.size}, into {v.default_dir}" for k, v in SOURCES.items()))
    p.add_argument("dir", nargs="?", metavar="DIR",
                   help="folder to fill, then data.root (default: the config's data.root: "
                        "data/bair, data/kth, data/mnist)")
    p.add_argument("--url", action="append", default=[], metavar="URL",
                   help="fetch from URL instead of the official source and mirrors; repeat it to "
                        "give several, tried in order. For kth and mnist each must end in one of the "
                        "dataset's file names (walking.zip, t10k-images-idx3-ubyte.gz, ...), or in "
                        "'/' for a folder holding them all")
    p.add_argument("--keep-archives", action="store_true",
                   help="keep the downloaded tar / zips after unpacking (default: removed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_FOLDER_HELP)


def run(args: argparse.Namespace) -> int:
    root = args.dir or SOURCES[args.dataset].default_dir
    for line in download(args.dataset, root, args.url, args.keep_archives, not args.no_progress,
                         args.overwrite):
        print(line)
    print(f"next: {next_step(args.dataset, root)}")
    return 0
