"""``svg check-data PATH``: verify BAIR TFRecords up front instead of finding a bad record mid-run.

Reads every byte of every record once, checking the framing, both CRC-32C checksums and (unless
``--checksums-only``) that each intact record decodes as a 30-frame BAIR example of the chosen
camera. Every problem is listed with its file and byte offset; the check goes on past a bad data
checksum, and stops within a file only when a damaged header hides where the next record starts.
Exit status: 0 all intact, 1 problems found, 2 nothing to check (a missing path or no records).
"""
from __future__ import annotations

import argparse
import glob
import os
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from core.errors import MissingFile

from data_loaders.bair.dataset import CAMERAS, decode_example
from data_loaders.bair.tfrecords import verify_records


def find_record_files(path: str) -> List[str]:
    """``*.tfrecords`` at ``path``: the file itself, those in the folder, or in its train/ and test/."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise MissingFile(f"{path} does not exist (expected a BAIR folder with train/ and test/, "
                          f"a split folder, or a .tfrecords file)")
    files = sorted(glob.glob(os.path.join(path, "*.tfrecords")))
    for split in ("train", "test"):
        files += sorted(glob.glob(os.path.join(path, split, "*.tfrecords")))
    if not files:
        raise MissingFile(f"no *.tfrecords in {path} nor in {path}/train, {path}/test")
    return files


def decode_problem(path: str, offset: int, data: bytes, camera: str) -> Optional[str]:
    """Why the intact record at ``offset`` is not a BAIR video of ``camera``, or None."""
    from google.protobuf.message import DecodeError
    from tfrecord import example_pb2

    where = f"{path} (byte {offset})"
    try:
        decode_example(example_pb2.Example.FromString(data), where, camera)
    except ValueError as e:       # our schema checks; their message starts with ``where``
        return str(e)
    except DecodeError as e:
        return f"{where}: not a tf.train.Example ({e})"
    return None


def check_files(files: List[str], camera: str = "image_aux1", decode: bool = True,
                progress: bool = True) -> Dict:
    """Verify every record of ``files``; returns {'files', 'records', 'bytes', 'problems'}, the
    problems in file order, then byte order."""
    total = sum(os.path.getsize(p) for p in files)
    problems: List[str] = []
    records = 0
    with tqdm(total=total, unit="B", unit_scale=True, desc="check records", disable=not progress,
              dynamic_ncols=True) as bar:
        for path in files:
            undecodable: List[Tuple[int, str]] = []

            def on_record(offset: int, n_bytes: int, data: Optional[bytes], path=path) -> None:
                problem = decode_problem(path, offset, data, camera) if decode and data else None
                if problem is not None:
                    undecodable.append((offset, problem))
                bar.update(n_bytes)

            n, bad_framing = verify_records(path, on_record)
            records += n
            problems += [message for _, message in sorted(bad_framing + undecodable)]
    return {"files": len(files), "records": records, "bytes": total, "problems": problems}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="BAIR folder (with train/ and test/), split folder, or .tfrecords file")
    p.add_argument("--camera", default="image_aux1", choices=CAMERAS,
                   help="camera whose frames each record must hold")
    p.add_argument("--checksums-only", action="store_true",
                   help="check framing and CRCs only, not that records decode as BAIR examples")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    files = [f for p in args.paths for f in find_record_files(p)]
    result = check_files(files, args.camera, not args.checksums_only, not args.no_progress)
    for line in result["problems"]:
        print(line)
    what = "checksums" if args.checksums_only else f"checksums and {args.camera} frames"
    summary = (f"checked {what} of {result['records']} records in {result['files']} files "
               f"({result['bytes'] / 1e6:.1f} MB)")
    if result["problems"]:
        print(f"{summary}: {len(result['problems'])} problems listed above")
        return 1
    print(f"{summary}: all intact")
    return 0
