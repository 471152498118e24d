"""SRVP's Stochastic Moving MNIST rules (Franceschi et al., ICML 2020) and its fixed test set.

Facts taken from the public SRVP repository (``data/mmnist.py``, ``preprocessing/mmnist/
make_test_set.py``); the code here is our own. Digits are pasted unresized (28 px) on the canvas.
A trajectory starts at an integer position uniform in [0, room]² with an integer velocity uniform
in [−4, 4]² (drawn in the order row, column, d_row, d_col). Positions move continuously: when a
step ends beyond a wall (tolerance 1e-8) the path is traced back to where it met the wall, the
stochastic version draws a whole new velocity (both components from −4..4) and points it away
from the wall(s) met, the deterministic one keeps it and reflects it, and the rest of the step is
travelled from the meeting point; the frame shows the position rounded half-to-even. The test set
seeds NumPy's legacy generator with 42, draws one permutation of the test digits, gives each
video the next ``num_digits`` digits of it (5000 videos from MNIST's 10000 test digits) and draws
their trajectories one after the other, so video i depends on every video before it and on the
number of frames generated.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from core.errors import UserError

MAX_SPEED = 4
EPS = 1e-8
SEED = 42


def _side(p: float, hi: int) -> int:
    """−1 beyond the low wall, +1 beyond the high wall, 0 inside (with SRVP's 1e-8 tolerance)."""
    return -1 if p < -EPS else (1 if p > hi + EPS else 0)


def _wall_point(r: float, c: float, dr: int, dc: int, sr: int, sc: int, hi_r: int, hi_c: int
                ) -> Tuple[float, float, int, int]:
    """Where the straight path through (r, c) along (dr, dc) met the wall(s) flagged by (sr, sc).

    Returns the meeting point and the flags of the walls actually met (a flagged wall whose line
    the path crosses outside the canvas was not met: the other wall was).
    """
    if dr == 0:
        return r, (0.0 if sc < 0 else float(hi_c)), sr, sc
    if dc == 0:
        return (0.0 if sr < 0 else float(hi_r)), c, sr, sc
    slope = dc / dr
    offset = c - slope * r
    point = None
    if sr:
        wall = 0 if sr < 0 else hi_r
        c_at = slope * wall + offset
        if -EPS <= c_at <= hi_c + EPS:
            point = (wall, c_at)
        else:
            sr = 0
    if sc:
        wall = 0 if sc < 0 else hi_c
        r_at = (wall - offset) / slope
        if -EPS <= r_at <= hi_r + EPS:
            point = (r_at, wall)   # the later check wins, as in SRVP
        else:
            sc = 0
    if point is None:
        raise RuntimeError(f"no wall crossing found for position ({r}, {c}), velocity ({dr}, {dc})")
    return point[0], point[1], sr, sc


def _bounce(rs: np.random.RandomState, r, c, dr: int, dc: int, hi_r: int, hi_c: int,
            deterministic: bool, max_speed: int):
    """Resolve every wall the last step crossed; returns the new (r, c, dr, dc)."""
    sr, sc = _side(r, hi_r), _side(c, hi_c)
    while sr or sc:
        wr, wc, sr, sc = _wall_point(r, c, dr, dc, sr, sc, hi_r, hi_c)
        left = (r - wr) / dr if dr != 0 else (c - wc) / dc   # the part of the step still to travel
        if not deterministic:
            dr = rs.randint(-max_speed, max_speed + 1)
            dc = rs.randint(-max_speed, max_speed + 1)
        if sr:
            dr = abs(dr) if sr < 0 else -abs(dr)
        if sc:
            dc = abs(dc) if sc < 0 else -abs(dc)
        r, c = wr + dr * left, wc + dc * left
        sr, sc = _side(r, hi_r), _side(c, hi_c)
    return r, c, dr, dc


def srvp_trajectory(rs: np.random.RandomState, seq_len: int, room: int, deterministic: bool = False,
                    max_speed: int = MAX_SPEED) -> np.ndarray:
    """Top-left (row, col) positions (seq_len, 2) int64 in [0, room] of one digit, SRVP's rules.

    rs : NumPy legacy generator, consumed in SRVP's order. room : canvas size − digit size.
    """
    r, c = rs.randint(0, room + 1), rs.randint(0, room + 1)
    dr, dc = rs.randint(-max_speed, max_speed + 1), rs.randint(-max_speed, max_speed + 1)
    out = np.empty((seq_len, 2), np.int64)
    for t in range(seq_len):
        r, c, dr, dc = _bounce(rs, r, c, dr, dc, room, room, deterministic, max_speed)
        out[t] = round(r), round(c)   # Python's round: half to even, as SRVP
        r, c = r + dr, c + dc
    return out


def srvp_test_set(n_digits: int, frames: int, room: int, num_digits: int = 2,
                  deterministic: bool = False, seed: int = SEED, max_speed: int = MAX_SPEED
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """SRVP's fixed test set as digit indices and trajectories (rendering is the caller's).

    n_digits : size of the test digit pool (10000 for MNIST). frames : frames generated per video
    (the videos depend on it). room : canvas size − 28.
    Returns digit indices (n_digits // num_digits, num_digits) into the pool and positions
    (n_digits // num_digits, num_digits, frames, 2) int64.
    """
    rs = np.random.RandomState(seed)
    perm = rs.permutation(n_digits)
    n_videos = n_digits // num_digits
    if n_videos == 0:
        raise UserError(f"{n_digits} test digits cannot fill one video of {num_digits} digits")
    index = perm[:n_videos * num_digits].reshape(n_videos, num_digits)
    positions = np.empty((n_videos, num_digits, frames, 2), np.int64)
    for i in range(n_videos):
        for n in range(num_digits):
            positions[i, n] = srvp_trajectory(rs, frames, room, deterministic, max_speed)
    return index, positions
