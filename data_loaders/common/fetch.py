"""Fetching one file over HTTP(S): resumable, shown with a progress bar, verified before it is named.

The bytes go to ``<path>.part`` next to the target. An interrupted transfer (a dropped connection,
a timeout, Ctrl-C, a killed process) leaves that file, and the next attempt asks for the rest with
``Range: bytes=N-``: a ``206 Partial Content`` answer is appended, a ``200 OK`` (a server or proxy
that ignores ranges) starts again from zero, and ``416`` (the ``.part`` is already as long as the
file, or longer) either completes it or starts again. Only when the transfer has the announced
length (``Content-Length`` or ``Content-Range``) and passes the caller's checks (a published MD5,
an archive's own integrity) is the ``.part`` fsynced and renamed to ``path``. A file under its
final name is therefore always complete and verified, and one that fails a check is removed, since
resuming from wrong bytes cannot make them right.

Several URLs (mirrors) are tried in order; a transfer that breaks off is resumed from the same URL
up to ``retries`` times before the next one is tried. When every URL fails, the error names each
with its reason.

HTTP is the standard library's ``urllib.request`` (``requests`` is not a dependency of the
project); the progress bar is ``tqdm``'s. Nothing here imports ``svg``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
from typing import Callable, List, Optional, Sequence, Tuple

from tqdm import tqdm

from core.errors import UserError

from core.atomic_files import fsync_path

PART = ".part"
CHUNK = 1 << 20                 # bytes per read: small enough for a smooth bar, large enough to be cheap
TIMEOUT_S = 60                  # per socket operation, not for the whole file
RETRIES = 3                     # resumed attempts per URL after the first one breaks off
RETRY_DELAY_S = 2.0             # doubled at each retry (a module constant so tests can set it to 0)
USER_AGENT = "svg-sigma-download (urllib)"   # some hosts refuse Python's default agent

Log = Callable[[str], None]


class Interrupted(Exception):
    """The transfer broke off before the announced length; the ``.part`` keeps what arrived."""


def part_path(path: str) -> str:
    """The file a download of ``path`` is written to until it is complete and verified."""
    return path + PART


def human_bytes(n: Optional[int]) -> str:
    """``1.5 GB``-style size (powers of 1000, as download pages state them); ``unknown size`` for None."""
    if n is None:
        return "unknown size"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def md5_of(path: str) -> str:
    """The hex MD5 of the file at ``path``, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _total_from_content_range(value: Optional[str]) -> Tuple[Optional[int], Optional[int]]:
    """(first byte, total) of a ``Content-Range: bytes A-B/TOTAL`` (or ``bytes */TOTAL``) header."""
    m = re.match(r"^\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*$", value or "")
    if not m:
        return None, None
    first = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return first, total


def _status(response) -> Optional[int]:
    # file:// responses have no status; http(s) ones do
    return getattr(response, "status", None) or response.getcode()


def _transfer(url: str, part: str, name: str, progress: bool, log: Log, timeout: float) -> Optional[int]:
    """One request for ``url``, appending to ``part`` when the server honours the range asked for.

    Returns the file's total length when the server announced it (None otherwise). Raises
    :class:`Interrupted` when fewer bytes arrived than announced, and urllib's errors as they are.
    """
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:
            raise
        # Range Not Satisfiable: the .part already reaches (or passes) the end of the file
        _, total = _total_from_content_range(e.headers.get("Content-Range"))
        e.close()
        if total == offset:
            return total                          # complete already; the checks decide
        log(f"{name}: the partial download ({human_bytes(offset)}) is longer than the file on "
            f"{url} ({human_bytes(total)}); starting again")
        os.remove(part)
        return _transfer(url, part, name, progress, log, timeout)
    with response:
        status = _status(response)
        first, total = _total_from_content_range(response.headers.get("Content-Range"))
        if status == 206:
            if not offset or first != offset:   # appending that body would misplace its bytes
                raise ValueError(f"answered a range starting at byte {first}, not the {offset} asked for")
            mode = "ab"
            log(f"{name}: resuming at {human_bytes(offset)} of {human_bytes(total)} from {url}")
        else:
            if offset:
                answer = f"HTTP {status}" if status else "no ranges"
                log(f"{name}: {url} does not resume ({answer}); starting again from zero")
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            log(f"{name}: {human_bytes(total)} from {url}")
        _require_space(part, None if total is None else total - offset)
        received = offset
        # SI units (kB, MB, GB), as download pages and human_bytes state sizes
        with open(part, mode) as f, tqdm(total=total, initial=offset, desc=name, unit="B",
                                         unit_scale=True, disable=not progress,
                                         dynamic_ncols=True) as bar:
            # read1: what has arrived, up to CHUNK, so that a slow link still moves the bar and an
            # interruption loses nothing already received (read(CHUNK) waits for all CHUNK bytes)
            read = getattr(response, "read1", response.read)
            try:
                while True:
                    block = read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    received += len(block)
                    bar.update(len(block))
            finally:   # whatever arrived is kept for the next attempt, and is on disk
                f.flush()
                os.fsync(f.fileno())
    if total is not None and received != total:
        raise Interrupted(f"the connection closed after {human_bytes(received)} of {human_bytes(total)}")
    return total


def _require_space(part: str, needed: Optional[int]) -> None:
    """Refuse, before writing, a transfer the disk cannot hold (BAIR alone is about 30 GB)."""
    if needed is None:
        return
    free = shutil.disk_usage(os.path.dirname(os.path.abspath(part))).free
    if needed > free:
        raise UserError(f"{part}: {human_bytes(needed)} more to download but only {human_bytes(free)} "
                        f"free on that disk; free some space or choose another folder")


# Failures worth another request to the same URL (the .part is resumed): a transfer cut short.
# A refused connection, an unknown host or an HTTP error status are not: the next URL is tried.
_BROKEN = (Interrupted, http.client.IncompleteRead, http.client.RemoteDisconnected,
           ConnectionResetError, ConnectionAbortedError, BrokenPipeError, socket.timeout, TimeoutError)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return False
    if isinstance(exc, urllib.error.URLError):   # urlopen wraps what happened before the headers
        return isinstance(exc.reason, _BROKEN)
    return isinstance(exc, _BROKEN)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def fetch(urls: Sequence[str], path: str, md5: Optional[str] = None,
          verify: Optional[Callable[[str], None]] = None, progress: bool = True,
          log: Optional[Log] = None, retries: int = RETRIES, timeout: float = TIMEOUT_S
          ) -> Optional[str]:
    """Download ``path`` from the first of ``urls`` that delivers it intact; returns that URL
    (None when ``path`` was already there).

    Parameters
    ----------
    urls : URLs of the same file, tried in order (http, https or file).
    path : the final file. Bytes go to ``path + '.part'`` (resumed if present) and are renamed to
        ``path`` only once complete and verified. If ``path`` exists it is taken as done (its
        name is only ever given to a verified file) and nothing is fetched.
    md5 : the published hex MD5 the file must have, or None.
    verify : called with the ``.part`` path once complete; raises ``UserError`` naming the file
        and what is wrong when the bytes are not the expected file, e.g. a damaged archive.
    progress : show a tqdm bar of the bytes (with the total from ``Content-Length``).
    log : receives one-line notes (size and URL, resumes, failures); None prints nothing.
    retries : requests per URL after a transfer breaks off, each resuming where it stopped.
    timeout : seconds a socket operation may wait.

    Raises
    ------
    UserError
        When no URL delivers a verified file: one line naming the file, each URL and its reason.
        A transfer that broke off keeps its ``.part`` (the next call resumes it); a file that
        failed a check is removed.
    """
    log = log or (lambda message: None)
    if os.path.exists(path):
        return None
    if not urls:
        raise UserError(f"no URL to fetch {path} from")
    name, part = os.path.basename(path), part_path(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    failures: List[str] = []
    for k, url in enumerate(urls):
        # a failure is noted as it happens only when another URL follows (the error lists all)
        note = (lambda m: log(f"{m}; trying the next URL")) if k + 1 < len(urls) else (lambda m: None)
        for attempt in range(retries + 1):
            try:
                _transfer(url, part, name, progress, log, timeout)
            except KeyboardInterrupt:
                if os.path.exists(part):
                    log(f"{name}: stopped; {human_bytes(os.path.getsize(part))} kept in {part}, "
                        f"which the same command resumes")
                raise
            except UserError:
                raise                              # not the URL's fault: no mirror can help
            except (OSError, ValueError, http.client.HTTPException, Interrupted) as e:
                if _transient(e) and attempt < retries:
                    delay = RETRY_DELAY_S * 2 ** attempt
                    log(f"{name}: {_reason(e)}; resuming in {delay:g} s")
                    time.sleep(delay)
                    continue
                # a URL that cannot work (404, refused, bad scheme, unknown host) or keeps
                # breaking off: try the next one
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                failures.append(f"{url}: {_reason(e)}{tries}")
                note(f"{name}: {failures[-1]}")
                break
            try:
                _check(part, path, url, md5, verify)
            except UserError as e:
                os.remove(part)                    # wrong bytes: resuming from them cannot help
                failures.append(str(e))
                note(str(e))
                break
            fsync_path(part)
            os.replace(part, path)
            fsync_path(os.path.dirname(os.path.abspath(path)))
            return url
    kept = (f"; the partial download {part} ({human_bytes(os.path.getsize(part))}) is kept and "
            f"the next run resumes it") if os.path.exists(part) else ""
    raise UserError(f"could not fetch {name}: " + "; ".join(failures) + kept)


def _check(part: str, path: str, url: str, md5: Optional[str],
           verify: Optional[Callable[[str], None]]) -> None:
    """Raise ``UserError`` naming the file and ``url`` unless the complete ``part`` is the file."""
    if md5 is not None:
        got = md5_of(part)
        if got != md5.lower():
            raise UserError(f"{path}: MD5 {got} is not the published {md5.lower()}, so it is damaged "
                            f"or another file (downloaded from {url}; removed)")
    if verify is not None:
        try:
            verify(part)
        except UserError as e:
            raise UserError(f"{e} (downloaded from {url}; removed)") from None
