"""``train.log`` as written by the trainer's handler and read back by :func:`svg.train.log.log_lines`."""
import logging
from datetime import datetime

import pytest

from svg.train.log import log_file, log_lines


def test_the_log_reads_back_with_its_times_and_without_traceback_lines(tmp_path):
    before = datetime.now().replace(microsecond=0)
    log = logging.getLogger("svg.train")
    with pytest.raises(RuntimeError):
        with log_file(str(tmp_path)):
            log.info("first")
            log.info("second")
            raise RuntimeError("unexpected")   # recorded with its traceback
    after = datetime.now()
    raw = (tmp_path / "train.log").read_text().splitlines()
    read = list(log_lines(str(tmp_path)))
    assert len(raw) > len(read) == 3   # the traceback's own lines carry no time
    assert [line.split(" ", 2)[2].strip() for _, line in read[:2]] == ["svg.train INFO first",
                                                                      "svg.train INFO second"]
    assert "training failed: RuntimeError: unexpected" in read[2][1]
    assert all(before <= t <= after for t, _ in read)


def test_a_run_without_a_log_has_no_lines(tmp_path):
    assert list(log_lines(str(tmp_path))) == []
