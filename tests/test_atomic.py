"""The one atomic writer: complete files or nothing under the final name, temporaries cleaned."""
import os
import subprocess
import sys
import textwrap

import pytest

from core.atomic_files import atomic_path, atomic_write, remove_stale_temporaries, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "report.json"
    write_text(str(p), "old")
    with pytest.raises(RuntimeError):
        with atomic_write(str(p)) as f:
            f.write("half of the new")
            raise RuntimeError("disk full")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]


def test_path_writers_keep_the_extension(tmp_path):
    import numpy as np

    with atomic_path(str(tmp_path / "a.npy")) as tmp:
        assert tmp.endswith(".npy") and os.path.basename(tmp).startswith(".a.npy.tmp-")
        np.save(tmp, np.arange(3))                     # np.save would add .npy to another name
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(str(tmp_path / "b.png")):
            pass
    with pytest.raises(ValueError, match="mode must start with 'w'"):
        with atomic_write(str(tmp_path / "c"), "a"):
            pass


def test_a_killed_writer_leaves_a_temporary_that_the_next_start_removes(tmp_path):
    script = textwrap.dedent(f"""
        import os
        from core.atomic_files import atomic_write
        with atomic_write({str(tmp_path / 'x.txt')!r}) as f:
            f.write("partial")
            f.flush()
            os._exit(9)
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    [left] = os.listdir(tmp_path)
    assert left.startswith(".x.txt.tmp-")                    # hidden, never under the final name
    live = tmp_path / f".y.txt.tmp-{os.getpid()}.txt"          # a writer that still runs: kept
    live.write_text("in progress")
    assert remove_stale_temporaries(str(tmp_path)) == [str(tmp_path / left)]
    assert os.listdir(tmp_path) == [live.name]
