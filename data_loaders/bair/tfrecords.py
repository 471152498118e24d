"""TFRecord files without TensorFlow: framing with CRC checks, and Example parsing.

The ``tfrecord`` package supplies the protobuf classes and the masked CRC-32C; its own reader
does not verify checksums and does not name the file on a truncation, so the framing is read here:
each record is ``length (uint64 LE) | masked crc32c(length) | data | masked crc32c(data)``.
"""
from __future__ import annotations

import os
import struct
from typing import BinaryIO, Callable, List, Optional, Tuple

from tfrecord import example_pb2
from tfrecord.writer import TFRecordWriter

from core.errors import UserError

from data_loaders.common.files import open_file


def _crc(data: bytes) -> bytes:
    return TFRecordWriter.masked_crc(data)


def _record_length(f: BinaryIO, path: str, offset: int, size: int) -> int:
    """Length of the record whose header starts at ``offset`` (``f`` positioned there), after
    checking the header's CRC and that the file holds every byte the record announces."""
    header = f.read(12)
    if len(header) != 12:
        raise UserError(f"{path}: truncated record header at byte {offset}")
    length_bytes, length_crc = header[:8], header[8:]
    if _crc(length_bytes) != length_crc:
        raise UserError(f"{path}: corrupt record at byte {offset} (length CRC mismatch)")
    (length,) = struct.unpack("<Q", length_bytes)
    if offset + 12 + length + 4 > size:
        raise UserError(f"{path}: truncated record at byte {offset} (announces {length} bytes, "
                        f"file ends at {size})")
    return length


def scan_records(path: str) -> List[Tuple[int, int]]:
    """(offset of the data, length) of every record in ``path``, checking the length CRCs and
    that the file holds every byte it announces (data CRCs are checked when a record is read)."""
    size = os.path.getsize(path)
    out = []
    with open_file(path) as f:
        offset = 0
        while offset < size:
            length = _record_length(f, path, offset, size)
            out.append((offset + 12, length))
            offset += 12 + length + 4
            f.seek(offset)
    return out


def verify_records(path: str, on_record: Optional[Callable[[int, int, Optional[bytes]], None]] = None
                   ) -> Tuple[int, List[Tuple[int, str]]]:
    """Read the whole file, checking every record's framing and both checksums.

    Returns (records read, problems), each problem (byte offset of the record, a message naming
    ``path`` and that offset). A bad data checksum is reported and the check goes on with the
    next record; a bad or truncated header ends the file's check, since the next record cannot be
    located.
    ``on_record(offset, bytes consumed, data or None if corrupt)`` is called after each record.
    """
    size = os.path.getsize(path)
    problems: List[Tuple[int, str]] = []
    count = offset = 0
    with open_file(path) as f:
        while offset < size:
            try:
                length = _record_length(f, path, offset, size)
            except ValueError as e:
                problems.append((offset, str(e)))
                if on_record is not None:
                    on_record(offset, size - offset, None)
                break
            data, crc = f.read(length), f.read(4)
            count += 1
            ok = _crc(data) == crc
            if not ok:
                problems.append((offset, f"{path}: corrupt record at byte {offset} (data CRC mismatch)"))
            if on_record is not None:
                on_record(offset, 12 + length + 4, data if ok else None)
            offset += 12 + length + 4
    return count, problems


def read_record(path: str, data_offset: int, length: int) -> bytes:
    """The data of one record, its CRC verified."""
    with open_file(path) as f:
        f.seek(data_offset)
        data = f.read(length)
        crc = f.read(4)
    if len(data) != length or len(crc) != 4:
        raise UserError(f"{path}: truncated record at byte {data_offset - 12}")
    if _crc(data) != crc:
        raise UserError(f"{path}: corrupt record at byte {data_offset - 12} (data CRC mismatch); "
                        f"`svg check-data` lists every corrupt record")
    return data


def read_example(path: str, data_offset: int, length: int) -> example_pb2.Example:
    return example_pb2.Example.FromString(read_record(path, data_offset, length))
