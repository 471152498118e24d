"""``svg download``: a local HTTP server (Range requests, dropped connections, 404s) serves small
archives written here — KTH-like zips of real AVIs, a BAIR-like tar of real TFRecords, gzipped
MNIST idx files — and the command must resume, verify, refuse damage by name, leave nothing
half-written under a final name, and end with data the project's loaders open."""
import collections
import gzip
import hashlib
import io
import os
import re
import shutil
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from data_loaders import build_dataset
from data_loaders.common import fetch as fetch_module
from data_loaders.common.archives import check_tar, check_zip
from data_loaders.common.fetch import fetch
from core.errors import UserError
from svg.cli import download as dl
from svg.cli.entry import main
from svg.testing.bair_records import write_random_videos
from svg.testing.kth_videos import write_video


# ------------------------------------------------------------------------------------------
# The server

class Handler(BaseHTTPRequestHandler):
    """GET of ``server.files[path]``; honours ``Range: bytes=N-`` unless the path is in
    ``server.ignore_range``; a request to a path in ``server.drops`` sends that many body bytes
    (the first number of its list, consumed) and then closes the connection."""

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        srv.requests.append((self.path, rng))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng and self.path not in srv.ignore_range:
            start = int(re.match(r"^bytes=(\d+)-$", rng).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        cuts = srv.drops.get(self.path)
        if cuts:
            self.wfile.write(body[:cuts.pop(0)])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)   # the transfer breaks off midway
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.drops, srv.ignore_range, srv.requests = {}, {}, set(), []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch):
    monkeypatch.setattr(fetch_module, "RETRY_DELAY_S", 0.0)


def payload(n=300_000, seed=0):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def finals(folder):
    """Every file under ``folder`` (relative, /-separated)."""
    return sorted(os.path.relpath(os.path.join(r, f), folder).replace(os.sep, "/")
                  for r, _, fs in os.walk(folder) for f in fs)


# ------------------------------------------------------------------------------------------
# fetch: resume, restart, mirrors, checksums

def test_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    data = payload()
    server.files["/f.bin"] = data
    server.drops["/f.bin"] = [100_000, 50_000]        # breaks off twice, then completes
    notes = []
    assert fetch([server.url + "/f.bin"], str(tmp_path / "f.bin"), progress=False,
                 log=notes.append) == server.url + "/f.bin"
    assert (tmp_path / "f.bin").read_bytes() == data
    assert server.requests == [("/f.bin", None), ("/f.bin", "bytes=100000-"), ("/f.bin", "bytes=150000-")]
    assert finals(tmp_path) == ["f.bin"]              # no .part left
    assert any("resuming at 100.0 kB of 300.0 kB" in n for n in notes)


def test_a_killed_download_resumes_from_its_part_file(server, tmp_path):
    data = payload()
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data[:123_456])   # what a killed process left
    fetch([server.url + "/f.bin"], str(tmp_path / "f.bin"), progress=False)
    assert server.requests == [("/f.bin", "bytes=123456-")]
    assert (tmp_path / "f.bin").read_bytes() == data


def test_a_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = payload()
    server.files["/f.bin"] = data
    server.ignore_range.add("/f.bin")
    (tmp_path / "f.bin.part").write_bytes(b"x" * 5000)      # would corrupt the file if appended to
    fetch([server.url + "/f.bin"], str(tmp_path / "f.bin"), progress=False)
    assert server.requests == [("/f.bin", "bytes=5000-")]
    assert (tmp_path / "f.bin").read_bytes() == data


def test_a_part_file_longer_than_the_file_restarts(server, tmp_path):
    data = payload(1000)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(b"y" * 2000)
    fetch([server.url + "/f.bin"], str(tmp_path / "f.bin"), progress=False)
    assert server.requests == [("/f.bin", "bytes=2000-"), ("/f.bin", None)]
    assert (tmp_path / "f.bin").read_bytes() == data


def test_mirrors_in_order_and_every_failure_named(server, tmp_path):
    data = payload()
    server.files["/good/f.bin"] = data
    server.files["/flaky/f.bin"] = data
    server.drops["/flaky/f.bin"] = [10_000, 10_000, 10_000]   # breaks off at every attempt
    urls = [server.url + "/missing/f.bin", server.url + "/flaky/f.bin"]
    with pytest.raises(UserError) as e:
        fetch(urls, str(tmp_path / "f.bin"), progress=False, retries=2)
    message = str(e.value)
    assert message.startswith("could not fetch f.bin: ")
    assert f"{urls[0]}: HTTP 404" in message and f"{urls[1]}: " in message and "after 3 attempts" in message
    assert "f.bin.part (30.0 kB) is kept and the next run resumes it" in message
    assert finals(tmp_path) == ["f.bin.part"]                  # nothing under the final name
    # the next run resumes the .part from the next mirror
    server.requests.clear()
    assert fetch([server.url + "/missing/f.bin", server.url + "/good/f.bin"], str(tmp_path / "f.bin"),
                 progress=False) == server.url + "/good/f.bin"
    assert server.requests[-1] == ("/good/f.bin", "bytes=30000-")
    assert (tmp_path / "f.bin").read_bytes() == data


def test_a_file_url_is_a_mirror_too(tmp_path):
    data = payload(5000)
    (tmp_path / "src.bin").write_bytes(data)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f.bin.part").write_bytes(data[:100])           # file:// has no ranges
    fetch([(tmp_path / "src.bin").as_uri()], str(tmp_path / "out" / "f.bin"), progress=False)
    assert (tmp_path / "out" / "f.bin").read_bytes() == data


def test_a_download_the_disk_cannot_hold_is_refused_before_writing(server, tmp_path, monkeypatch):
    server.files["/f.bin"] = payload(5000)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 100, 100))
    with pytest.raises(UserError, match=r"f\.bin\.part: 5\.0 kB more to download but only 100 B free"):
        fetch([server.url + "/f.bin"], str(tmp_path / "f.bin"), progress=False)
    assert finals(tmp_path) == []


def test_md5_mismatch_is_refused_and_removed(server, tmp_path):
    data = payload(5000)
    server.files["/f.gz"] = data
    good = hashlib.md5(data).hexdigest()
    with pytest.raises(UserError, match=r"f\.gz: MD5 [0-9a-f]{32} is not the published 0{32}"):
        fetch([server.url + "/f.gz"], str(tmp_path / "f.gz"), md5="0" * 32, progress=False)
    assert finals(tmp_path) == []
    fetch([server.url + "/f.gz"], str(tmp_path / "f.gz"), md5=good, progress=False)
    assert (tmp_path / "f.gz").read_bytes() == data


# ------------------------------------------------------------------------------------------
# archives

def make_tar(files):
    """A tar (bytes) of {name: bytes}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_tar_cut_between_members_or_inside_one_is_refused(tmp_path):
    data = make_tar({"a/x.bin": payload(5000), "a/y.bin": payload(3000, 1)})
    path = tmp_path / "t.tar"
    path.write_bytes(data)
    assert [m.name for m in check_tar(str(path))] == ["a/x.bin", "a/y.bin"]
    boundary = 512 + 5120 + 512 + 3072                  # both members, no end-of-archive block
    for cut, why in ((boundary, "without the end-of-archive block"), (3000, "not a readable tar")):
        path.write_bytes(data[:cut])
        with pytest.raises(UserError, match=f"{re.escape(str(path))}: .*{why}"):
            check_tar(str(path))
    path.write_bytes(payload(5000))                       # not a tar at all: one line, one reason
    with pytest.raises(UserError) as e:
        check_tar(str(path))
    assert str(e.value) == f"{path}: not a readable tar archive (invalid header)"


def test_a_zip_with_a_damaged_member_is_refused_by_name(tmp_path):
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("walking/a.avi", payload(4000))
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF                                   # inside the member's stored bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=f"{re.escape(str(path))}: member walking/a.avi does not match its CRC-32"):
        check_zip(str(path))
    path.write_bytes(bytes(raw)[:2000])
    with pytest.raises(UserError, match="not a readable zip archive"):
        check_zip(str(path))


# ------------------------------------------------------------------------------------------
# --url

def test_url_overrides(tmp_path):
    from data_loaders.kth.files import CLASSES
    assert dl.KTH_CLASSES == CLASSES
    folder = dl.resolve_urls("mnist", ["http://m/a/"])
    assert folder["t10k-labels-idx1-ubyte.gz"] == ["http://m/a/t10k-labels-idx1-ubyte.gz"]
    one = dl.resolve_urls("kth", ["http://m/x/walking.zip", "file:///srv/walking.zip"])
    assert one["walking.zip"] == ["http://m/x/walking.zip", "file:///srv/walking.zip"]
    assert one["boxing.zip"][0] == "https://www.csc.kth.se/cvap/actions/boxing.zip"   # defaults kept
    assert dl.resolve_urls("bair", ["http://m/any.tar"]) == {dl.BAIR_TAR: ["http://m/any.tar"]}
    with pytest.raises(UserError, match=r"--url http://m/foo\.zip: its file 'foo.zip' is none of kth's"):
        dl.resolve_urls("kth", ["http://m/foo.zip"])
    with pytest.raises(UserError, match="--url ftp://m/a/: expected an http://, https:// or file:// URL"):
        dl.resolve_urls("kth", ["ftp://m/a/"])


# ------------------------------------------------------------------------------------------
# MNIST

def idx_gz(kind, n, seed):
    rng = np.random.default_rng(seed)
    if kind == "images":
        header, body = np.array([0x803, n, 28, 28], ">i4"), rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    else:
        header, body = np.array([0x801, n], ">i4"), rng.integers(0, 10, n, dtype=np.uint8)
    return gzip.compress(header.tobytes() + body.tobytes(), mtime=0)


@pytest.fixture
def mnist_files(server):
    files = {"train-images-idx3-ubyte.gz": idx_gz("images", 30, 0),
             "train-labels-idx1-ubyte.gz": idx_gz("labels", 30, 1),
             "t10k-images-idx3-ubyte.gz": idx_gz("images", 10, 2),
             "t10k-labels-idx1-ubyte.gz": idx_gz("labels", 10, 3)}
    for name, data in files.items():
        server.files[f"/mnist/{name}"] = data
    return files


def test_mnist_checksum_mismatch_is_refused(server, mnist_files, tmp_path, capsys):
    # the published MD5s are MNIST's real ones; these small files cannot match them
    assert main(["download", "mnist", str(tmp_path / "m"), "--url", server.url + "/mnist/", "--no-progress"]) == 2
    err = capsys.readouterr().err
    gz = tmp_path / "m" / "train-images-idx3-ubyte.gz"
    assert f"svg download: error: could not fetch train-images-idx3-ubyte.gz: {gz}: MD5 " in err
    assert "is not the published f68b3c2dcbeaaa9fbdd348bbdeb94873" in err and "Traceback" not in err
    assert finals(tmp_path / "m") == []


def test_mnist_download_is_read_by_the_smmnist_loader(server, mnist_files, tmp_path, capsys, monkeypatch):
    remotes = tuple(dl.Remote(n, (), hashlib.md5(d).hexdigest()) for n, d in mnist_files.items())
    monkeypatch.setitem(dl.SOURCES, "mnist", dl.Source(remotes, "data/mnist", "configs/smmnist.yaml", ""))
    root = tmp_path / "m"
    assert main(["download", "mnist", str(root), "--url", server.url + "/mnist/", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"train: 30 digits, test: 10 digits → {root}" in out
    assert f"next: svg train --config configs/smmnist.yaml data.root={root}" in out
    ds = build_dataset("smmnist", "test", str(root), 10, length=2)
    assert tuple(ds[0].shape) == (10, 1, 64, 64)


# ------------------------------------------------------------------------------------------
# KTH

def kth_avi(folder, name, frames=44, x0=10):
    video = np.full((frames, 120, 160), 20, np.uint8)
    for t in range(frames):
        video[t, 30:54, x0 + 2 * t:x0 + 24 + 2 * t] = 230
    path = os.path.join(folder, name)
    write_video(path, video)
    return open(path, "rb").read()


@pytest.fixture(scope="module")
def kth_zips(tmp_path_factory):
    """{class}.zip bytes: one training video (person 1) per class; walking also holds a val
    (person 20) and a test (person 21) video. Members sit in a folder, as unzip would make."""
    folder = tmp_path_factory.mktemp("avi")
    zips = {}
    for k, action in enumerate(dl.KTH_CLASSES):
        people = (1, 20, 21) if action == "walking" else (1,)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for p in people:
                name = f"person{p:02d}_{action}_d1_uncomp.avi"
                z.writestr(f"{action}/{name}", kth_avi(folder, name, x0=4 + k + p))
        zips[f"{action}.zip"] = buf.getvalue()
    return zips


def serve_kth(server, zips):
    for name, data in zips.items():
        server.files[f"/kth/{name}"] = data


def test_kth_from_an_empty_folder_to_converted_data(server, kth_zips, tmp_path, capsys):
    serve_kth(server, kth_zips)
    server.drops["/kth/running.zip"] = [len(kth_zips["running.zip"]) // 2]   # broken off once
    root = tmp_path / "kth"
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/"]) == 0
    out, err = capsys.readouterr()
    assert ("/kth/running.zip", f"bytes={len(kth_zips['running.zip']) // 2}-") in server.requests
    assert f"8 videos, 352 frames of 64×64 → {root}" in out
    assert f"next: svg train --config configs/kth.yaml data.root={root}" in out
    assert f"walking.zip: {len(kth_zips['walking.zip']) / 1000:.1f} kB from {server.url}/kth/walking.zip" in err
    assert "walking.zip held 3 walking videos; KTH's own has 100" in err     # a plain warning line
    files = finals(root)
    assert not [f for f in files if f.endswith((".zip", ".part"))]           # unpacked, then removed
    assert "raw/walking/person21_walking_d1_uncomp.avi" in files and "manifest.json" in files
    for split, n in (("train", 6), ("val", 1), ("test", 1)):
        ds = build_dataset("kth", split, str(root), 20, length=4)
        assert ds[0].shape == (20, 1, 64, 64) and len({v.name for v in ds.videos}) == n
    # a re-run has nothing to fetch, unpack or convert
    server.requests.clear()
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/", "--no-progress"]) == 0
    assert server.requests == []


def test_a_corrupt_or_cut_zip_is_refused_by_name_and_leaves_no_final_file(server, kth_zips, tmp_path, capsys):
    serve_kth(server, kth_zips)
    bad = bytearray(kth_zips["boxing.zip"])
    bad[len(bad) // 2] ^= 0xFF                                 # a flipped byte inside the AVI
    server.files["/kth/boxing.zip"] = bytes(bad)
    root = tmp_path / "kth"
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/", "--no-progress"]) == 2
    err = capsys.readouterr().err
    zip_path = root / "raw" / "boxing.zip"
    assert (f"could not fetch boxing.zip: {zip_path}: member boxing/person01_boxing_d1_uncomp.avi does "
            f"not match its CRC-32 (a damaged zip) (downloaded from {server.url}/kth/boxing.zip; removed)") in err
    assert finals(root) == []                                  # boxing is the first class
    server.files["/kth/boxing.zip"] = kth_zips["boxing.zip"][:len(kth_zips["boxing.zip"]) - 100]   # cut
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/", "--no-progress"]) == 2
    assert f"{zip_path}: not a readable zip archive" in capsys.readouterr().err
    assert finals(root) == []


def test_nothing_half_written_looks_finished(server, kth_zips, tmp_path, capsys):
    serve_kth(server, kth_zips)
    size = len(kth_zips["handwaving.zip"])
    server.drops["/kth/handwaving.zip"] = [size // 10] * 4        # every attempt breaks off
    root = tmp_path / "kth"
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/", "--no-progress"]) == 2
    assert f"the partial download {root / 'raw' / 'handwaving.zip.part'}" in capsys.readouterr().err
    files = finals(root)
    # boxing and handclapping were unpacked (their markers written last); handwaving only has its
    # .part; no conversion manifest, so no loader takes this for a finished dataset
    assert "raw/handwaving.zip.part" in files and "manifest.json" not in files
    assert not [f for f in files if f.startswith("raw/handwaving/") or f == "raw/handwaving.zip"]
    assert "raw/boxing.zip.extracted.json" in files
    with pytest.raises(UserError, match="holds none of the six KTH class folders"):
        build_dataset("kth", "train", str(root), 20)
    server.requests.clear()
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/", "--no-progress"]) == 0
    assert server.requests[0] == ("/kth/handwaving.zip", f"bytes={4 * (size // 10)}-")
    assert not [p for p, _ in server.requests if "boxing" in p]         # finished ones not fetched again
    assert "manifest.json" in finals(root)


def test_a_folder_holding_other_files_is_refused_before_any_request(server, tmp_path, capsys):
    root = tmp_path / "kth"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    assert main(["download", "kth", str(root), "--url", server.url + "/kth/"]) == 2
    assert f"DIR {root} holds notes.txt, which this command did not write" in capsys.readouterr().err
    assert server.requests == []


# ------------------------------------------------------------------------------------------
# BAIR

@pytest.fixture(scope="module")
def bair_tar(tmp_path_factory):
    """A tar in the layout of bair_robot_pushing_dataset_v0.tar: softmotion30_44k/{train,test}/."""
    folder = tmp_path_factory.mktemp("bair")
    rng = np.random.default_rng(0)
    frames = {}
    members = {}
    for split, name, n in (("train", "traj_0_to_2.tfrecords", 3), ("test", "traj_0_to_255.tfrecords", 2)):
        path = folder / name
        frames[split] = write_random_videos(str(path), n, rng)
        members[f"softmotion30_44k/{split}/{name}"] = path.read_bytes()
    return make_tar(members), frames, members


def test_bair_from_an_empty_folder_to_converted_data(server, bair_tar, tmp_path, capsys):
    data, frames, _ = bair_tar
    server.files["/bair.tar"] = data
    server.drops["/bair.tar"] = [len(data) // 3]                         # broken off once
    root = tmp_path / "bair"
    stale = root / "raw" / "softmotion30_44k" / "test" / ".traj_0_to_255.tfrecords.tmp-999999.tfrecords"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a killed unpacking")          # neither foreign nor a record
    assert main(["download", "bair", str(root), "--url", server.url + "/bair.tar", "--no-progress"]) == 0
    assert not stale.exists()
    out = capsys.readouterr().out
    assert server.requests == [("/bair.tar", None), ("/bair.tar", f"bytes={len(data) // 3}-")]
    assert f"test: 2 videos from 1 records → {root / 'test'}" in out
    assert f"next: svg train --config configs/bair.yaml data.root={root}" in out
    assert dl.BAIR_TAR not in os.listdir(root / "raw")                  # unpacked, checked, removed
    test = build_dataset("bair", "test", str(root), 30)                 # the converted format
    assert np.array_equal((test[1].permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8), frames["test"][1])
    assert len(build_dataset("bair", "train", str(root), 12, val_videos=1)) == 2
    # the records may be deleted once converted: a re-run then fetches nothing
    shutil.rmtree(root / "raw")
    server.requests.clear()
    assert main(["download", "bair", str(root), "--url", server.url + "/bair.tar", "--no-progress"]) == 0
    assert server.requests == [] and "holds a finished conversion and no raw/ folder" in capsys.readouterr().out


def test_bair_with_damaged_records_is_refused_and_not_converted(server, bair_tar, tmp_path, capsys):
    _, _, members = bair_tar
    damaged = bytearray(members["softmotion30_44k/test/traj_0_to_255.tfrecords"])
    damaged[5000] ^= 0xFF                                # the tar is intact; one record's data is not
    server.files["/bair.tar"] = make_tar({**members, "softmotion30_44k/test/traj_0_to_255.tfrecords": bytes(damaged)})
    root = tmp_path / "bair"
    assert main(["download", "bair", str(root), "--url", server.url + "/bair.tar", "--no-progress",
                 "--keep-archives"]) == 2
    err = capsys.readouterr().err
    assert "the downloaded BAIR records are damaged (1 bad record; first: " in err
    assert "traj_0_to_255.tfrecords: corrupt record at byte 0 (data CRC mismatch)" in err
    assert not os.path.exists(root / "test" / "manifest.json") and not os.path.exists(root / "train")


def test_a_tar_that_is_not_bairs_is_refused(server, tmp_path, capsys):
    server.files["/other.tar"] = make_tar({"images/a.png": b"x" * 100})
    root = tmp_path / "bair"
    assert main(["download", "bair", str(root), "--url", server.url + "/other.tar", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (f"{root / 'raw' / dl.BAIR_TAR} holds 0 train and 0 test softmotion30_44k/{{train,test}}/*.tfrecords "
            f"files; expected the BAIR robot pushing tar with both") in err
    assert finals(root) == []
