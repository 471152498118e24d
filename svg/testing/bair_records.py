"""Test data: BAIR-format TFRecords written with the ``tfrecord`` package (no TensorFlow).

Used by the tests and by the data benchmarks.
"""
from __future__ import annotations

import numpy as np


def write_tfrecords(path: str, aux: np.ndarray, main: np.ndarray, actions: np.ndarray,
                    endeffector: np.ndarray) -> None:
    """Write videos as BAIR ``tf.train.Example`` records (the softmotion30_44k schema).

    aux, main : (N, 30, H, W, 3) uint8 camera frames (raw bytes, as in the real data);
    actions : (N, 30, 4); endeffector : (N, 30, 3). For tests and benchmarks.
    """
    from tfrecord.writer import TFRecordWriter

    w = TFRecordWriter(path)
    try:
        for v in range(len(aux)):
            example = {}
            for t in range(aux.shape[1]):
                example[f"{t}/image_aux1/encoded"] = (aux[v, t].tobytes(), "byte")
                example[f"{t}/image_main/encoded"] = (main[v, t].tobytes(), "byte")
                example[f"{t}/action"] = (actions[v, t].tolist(), "float")
                example[f"{t}/endeffector_pos"] = (endeffector[v, t].tolist(), "float")
            w.write(example)
    finally:
        w.close()


def write_random_videos(path: str, n: int, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """``n`` videos of random frames (both cameras the same) with random actions and end-effector
    values, drawn from ``rng`` in that order; returns the frames (n, 30, size, size, 3) uint8."""
    frames = rng.integers(0, 256, (n, 30, size, size, 3), dtype=np.uint8)
    write_tfrecords(path, frames, frames, rng.standard_normal((n, 30, 4)).astype(np.float32),
                    rng.standard_normal((n, 30, 3)).astype(np.float32))
    return frames
