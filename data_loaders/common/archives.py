"""Downloaded archives: checked whole before they are trusted, then unpacked file by file.

Neither zip nor tar is trusted on its name. :func:`check_zip` reads every member and compares it
with the CRC-32 the archive stores (``zipfile.ZipFile.testzip``); a cut zip also lacks its central
directory, which ``zipfile`` reports. A tar stores no checksum of the data, only of each header,
so :func:`check_tar` reads every header and every member's bytes through ``tarfile`` and requires
the end-of-archive block: a tar cut exactly between two members would otherwise read as a
shorter, valid one. What the members hold is then for the dataset's own check (BAIR's record
CRCs, KTH's video headers).

:func:`extract` writes each wanted member through :func:`~core.atomic_files.atomic_path`
(a temporary name, fsync, rename), so an interrupted unpacking leaves only complete files under
final names, and a re-run skips those whose size already matches. Destinations are chosen by the
caller from the member's name, never taken from the archive as a path, so a hostile archive
cannot write outside the folder.

The ``zipfile`` and ``tarfile`` modules of the standard library do the reading.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from tqdm import tqdm

from core.errors import UserError

from core.atomic_files import atomic_path, remove_stale_temporaries

BLOCK = 512          # a tar header or end-of-archive block
CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One regular file of an archive: its name inside the archive and its size in bytes."""
    name: str
    size: int


def check_zip(path: str, label: Optional[str] = None) -> List[Member]:
    """Read every member of the zip at ``path`` against its stored CRC-32; returns the files.

    Raises ``UserError`` naming ``label`` (default: ``path``) when it is no zip, is cut short, or
    a member's bytes do not match their CRC.
    """
    label = label or path
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                raise UserError(f"{label}: member {bad} does not match its CRC-32 (a damaged zip)")
            return [Member(i.filename, i.file_size) for i in z.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise UserError(f"{label}: not a readable zip archive ({_one_line(e)})") from None


def check_tar(path: str, label: Optional[str] = None, progress: bool = False) -> List[Member]:
    """Read every header and every member's bytes of the tar at ``path``; returns the files.

    Raises ``UserError`` naming ``label`` (default: ``path``) when it is no tar, a header or a
    member is cut or damaged, or the end-of-archive block is missing (a tar cut between members).
    ``progress`` shows a bar of the bytes read.
    """
    label = label or path
    members: List[Member] = []
    try:
        bar = tqdm(total=os.path.getsize(path), desc=f"check {os.path.basename(label)}", unit="B",
                   unit_scale=True, disable=not progress, dynamic_ncols=True, leave=False)
        with _open_tar(path) as tf, bar:
            for info in tf:
                if not info.isfile():
                    continue
                f = tf.extractfile(info)
                n = 0
                for block in iter(lambda: f.read(CHUNK), b""):
                    n += len(block)
                if n != info.size:
                    raise UserError(f"{label}: member {info.name} is cut short ({n} of {info.size} bytes)")
                members.append(Member(info.name, info.size))
                bar.update(BLOCK + info.size)
            end = tf.offset   # where the reader stopped: the end-of-archive block, if there is one
        if _plain_tar(path):
            with open(path, "rb") as f:
                f.seek(end)
                if f.read(BLOCK) != bytes(BLOCK):
                    raise UserError(f"{label}: ends after member {members[-1].name if members else '(none)'} "
                                    f"without the end-of-archive block (a cut tar)")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise UserError(f"{label}: not a readable tar archive ({_one_line(e)})") from None
    return members


def list_members(path: str) -> List[Member]:
    """The regular files of the (checked) zip or tar at ``path``, from its directory or headers
    only (no member is read)."""
    try:
        if path.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                return [Member(i.filename, i.file_size) for i in z.infolist() if not i.is_dir()]
        with _open_tar(path) as tf:
            return [Member(i.name, i.size) for i in tf.getmembers() if i.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as e:
        raise UserError(f"{path}: not a readable archive ({_one_line(e)}); delete it "
                        f"and download again") from None


def _open_tar(path: str) -> tarfile.TarFile:
    """``tarfile.open`` for reading, compressed only if the file starts like gzip, bzip2 or xz (so
    that a file of other bytes gets tarfile's one-line reason, not one per method tried)."""
    return tarfile.open(path, "r:" if _plain_tar(path) else "r:*")


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _plain_tar(path: str) -> bool:
    """Whether ``path`` is an uncompressed tar (offsets in a compressed one are not file offsets)."""
    with open(path, "rb") as f:
        head = f.read(6)
    return not (head.startswith(b"\x1f\x8b") or head.startswith(b"BZh") or head.startswith(b"\xfd7zXZ"))


def extract(path: str, destinations: Dict[str, str], label: Optional[str] = None,
            progress: bool = True) -> None:
    """Write members of the (checked) zip or tar at ``path`` to the files named in ``destinations``.

    Parameters
    ----------
    path : the archive: a zip if its name ends in ``.zip``, else a tar (plain or compressed).
    destinations : member name inside the archive -> destination file. Other members are skipped.
    label : how errors name the archive (default: ``path``).
    progress : show a bar of the bytes written.

    Each member is written under a temporary name and renamed when complete; a destination that
    already has the member's size is taken as done (final names are only given to complete files).
    """
    label = label or path
    opener = _ZipMembers if path.lower().endswith(".zip") else _TarMembers
    try:
        with opener(path) as (sizes, open_member):
            wanted = {m: d for m, d in destinations.items()
                      if not (os.path.exists(d) and os.path.getsize(d) == sizes[m])}
            total = sum(sizes[m] for m in wanted)
            _require_space(wanted.values(), total, label)
            for folder in {os.path.dirname(os.path.abspath(d)) for d in wanted.values()}:
                if os.path.isdir(folder):
                    remove_stale_temporaries(folder)   # left by an unpacking that was killed
            with tqdm(total=total, desc=f"unpack {os.path.basename(label)}", unit="B", unit_scale=True,
                      disable=not progress or not wanted, dynamic_ncols=True, leave=False) as bar:
                for member, dest in sorted(wanted.items()):
                    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
                    with open_member(member) as src, atomic_path(dest) as tmp, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                    bar.update(sizes[member])
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError) as e:
        raise UserError(f"{label}: cannot be unpacked ({_one_line(e)})") from None


def _require_space(destinations, total: int, label: str) -> None:
    """Refuse, before writing, an unpacking the disk cannot hold (BAIR's records are about 30 GB)."""
    folders = {os.path.dirname(os.path.abspath(d)) for d in destinations}
    if not folders:
        return
    existing = next(iter(folders))
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    free = shutil.disk_usage(existing).free
    if total > free:
        raise UserError(f"{label}: unpacking needs {total / 1e9:.1f} GB but {existing} has "
                        f"{free / 1e9:.1f} GB free; free some space or choose another folder")


class _ZipMembers:
    """Context: (sizes by member name, open(member) -> file) of a zip."""

    def __init__(self, path: str):
        self.z = zipfile.ZipFile(path)

    def __enter__(self):
        return {i.filename: i.file_size for i in self.z.infolist()}, self.z.open

    def __exit__(self, *exc):
        self.z.close()


class _TarMembers:
    """Context: (sizes by member name, open(member) -> file) of a tar."""

    def __init__(self, path: str):
        self.tf = _open_tar(path)

    def __enter__(self):
        infos = {i.name: i for i in self.tf.getmembers() if i.isfile()}
        opener: Callable = lambda name: self.tf.extractfile(infos[name])
        return {n: i.size for n, i in infos.items()}, opener

    def __exit__(self, *exc):
        self.tf.close()
