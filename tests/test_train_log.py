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


def test_the_time_estimate_comes_after_a_resume_at_any_step(tmp_path, caplog):
    """A resume after Ctrl-C starts at any step: the estimate came only when ``start +
    log_every`` was a multiple of ``log_every``."""
    from svg.train.log import TrainLog
    from svg.train.step import StepStats

    stats = StepStats(False, 1.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    for start in (7, 8):   # 7: not a multiple of log_every = 4; 8: one
        caplog.clear()
        logger = TrainLog(str(tmp_path / str(start)), start, 20, 4, 4, enabled=True, progress=False)
        with caplog.at_level(logging.INFO, logger="svg.train"):
            for done in range(start + 1, start + 7):
                logger.step(done, stats, 1e-3)
        logger.close()
        estimates = [r.getMessage() for r in caplog.records if r.getMessage().startswith("measured")]
        assert len(estimates) == 1 and f"the {20 - start - 4} steps left take about" in estimates[0]
