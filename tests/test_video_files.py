"""Clips from ordinary files (data_loaders.videos.files): every input kind, the 4-D rule, resizing."""
import multiprocessing
import os

import av
import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest

from clip_files import HEIGHT, WIDTH, expected_fit, moving_rect, write_video
from data_loaders.common.video import decode_frames, grey_resized, rgb24
from data_loaders.videos.files import convert_channels, fit_frames, read_clips, resize_frames
from core.errors import UserError


@pytest.mark.parametrize("name,fmt,codec", [("walk.mp4", "mp4", "libx264"), ("walk.avi", "avi", "mpeg4"),
                                            ("walk.mkv", "matroska", "ffv1")])
def test_videos_read_every_frame_as_rgb(tmp_path, name, fmt, codec):
    frames = moving_rect(7)
    path = str(tmp_path / name)
    write_video(path, frames, fmt, codec)
    [(stem, clip)] = read_clips(path)
    assert stem == "walk" and clip.shape == (7, HEIGHT, WIDTH, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, iio.imread(path, plugin="pyav"))   # imageio's own decoding
    assert np.abs(clip.astype(int) - frames).mean() < 3                    # lossy, but the same picture


def test_frame_folder_is_ordered_by_the_number_in_the_names(tmp_path):
    frames = moving_rect(11)[..., 0]
    for t in range(11):   # frame_2 must come before frame_10 (not so in name order)
        imageio.imwrite(tmp_path / f"frame_{t + 1}.png", frames[t])
    (tmp_path / "notes.txt").write_text("not a frame")
    [(stem, clip)] = read_clips(str(tmp_path) + "/")
    assert stem == tmp_path.name
    np.testing.assert_array_equal(clip, frames[..., None])


def test_frame_folder_errors(tmp_path):
    with pytest.raises(UserError, match="no frame images"):
        read_clips(str(tmp_path))
    imageio.imwrite(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(UserError, match="'a.png' has no number in its name"):
        read_clips(str(tmp_path))
    (tmp_path / "a.png").rename(tmp_path / "01.png")
    imageio.imwrite(tmp_path / "1.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(UserError, match="carry the same number 1"):
        read_clips(str(tmp_path))
    (tmp_path / "1.png").unlink()
    imageio.imwrite(tmp_path / "2.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(UserError, match=r"2.png: frame of shape \(5, 4, 1\)"):
        read_clips(str(tmp_path))


def test_gif_and_arrays(tmp_path):
    grey = moving_rect(5)[..., 1]
    imageio.mimsave(tmp_path / "c.gif", list(grey), duration=100, loop=0)
    [(_, clip)] = read_clips(str(tmp_path / "c.gif"))
    np.testing.assert_array_equal(clip[..., 0], grey)     # grey GIF palettes are exact
    np.save(tmp_path / "one.npy", grey)                   # (T, H, W)
    np.save(tmp_path / "rgb.npy", moving_rect(4))         # (T, H, W, 3): last axis 3 is channels
    np.save(tmp_path / "many.npy", np.stack([grey, grey[::-1]]))        # (N, T, H, W): last axis 96
    np.save(tmp_path / "float.npy", grey[:2, :, :, None] / 255.0)      # float in [0, 1]
    assert [c.shape for _, c in read_clips(str(tmp_path / "one.npy"))] == [(5, HEIGHT, WIDTH, 1)]
    assert [c.shape for _, c in read_clips(str(tmp_path / "rgb.npy"))] == [(4, HEIGHT, WIDTH, 3)]
    many = read_clips(str(tmp_path / "many.npy"))
    assert [n for n, _ in many] == ["many_0", "many_1"]
    np.testing.assert_array_equal(many[1][1][..., 0], grey[::-1])
    np.testing.assert_array_equal(read_clips(str(tmp_path / "float.npy"))[0][1][..., 0], grey[:2])


def test_bad_inputs_are_named(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="junk.mp4: cannot be read as a video"):
        read_clips(str(tmp_path / "junk.mp4"))
    write_video(str(tmp_path / "long.avi"), np.concatenate([moving_rect(8)] * 6), "avi", "mpeg4")
    data = (tmp_path / "long.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) * 4 // 5])      # ends inside the frames
    with pytest.raises(UserError, match=r"cut.avi: truncated or corrupt video: it ends after \d+ "
                                        r"frames; its header declares 48"):
        read_clips(str(tmp_path / "cut.avi"))
    np.save(tmp_path / "hot.npy", np.full((2, 4, 4), 1.5))
    with pytest.raises(UserError, match=r"hot.npy: float frames must lie in \[0, 1\]"):
        read_clips(str(tmp_path / "hot.npy"))
    np.save(tmp_path / "flat.npy", np.zeros((4, 4), np.uint8))
    with pytest.raises(UserError, match="flat.npy: expected"):
        read_clips(str(tmp_path / "flat.npy"))
    with pytest.raises(UserError, match="unknown kind of input '.txt'"):
        (tmp_path / "x.txt").write_text("x")
        read_clips(str(tmp_path / "x.txt"))
    with pytest.raises(FileNotFoundError, match="gone.mp4 does not exist"):
        read_clips(str(tmp_path / "gone.mp4"))


@pytest.mark.parametrize("mode", ["crop", "squash"])
def test_resize_matches_an_independent_bicubic(mode):
    frames = moving_rect(3)
    for channels in (1, 3):
        got = fit_frames(frames, 32, channels, mode)
        assert got.shape == (3, 32, 32, channels) and got.dtype == np.uint8
        assert np.abs(got - expected_fit(frames, 32, channels, mode)).max() <= 1
    floats = frames.astype(np.float32) / 255
    got = fit_frames(floats, 32, 1, mode)
    assert got.dtype == np.float32 and got.min() >= 0 and got.max() <= 1
    assert np.abs(got - expected_fit(floats, 32, 1, mode)).max() < 1e-3


def test_crop_keeps_the_centre_and_squash_the_whole_frame():
    frames = np.zeros((1, 40, 80, 1), np.uint8)
    frames[:, :, :20] = 255                    # a bright band left of the centre square
    assert resize_frames(frames, 20, "crop").max() == 0
    assert resize_frames(frames, 20, "squash")[0, :, :4].min() == 255
    np.testing.assert_array_equal(resize_frames(frames, 40), frames[:, :, 20:60])   # cut, not resampled
    same = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(resize_frames(same, 4, "squash"), same)
    np.testing.assert_array_equal(convert_channels(same, 3), np.repeat(same, 3, -1))


@pytest.mark.parametrize("convert", [rgb24, lambda frame: grey_resized(frame, 64)],
                         ids=["rgb24", "grey"])
def test_a_frame_converted_before_a_fork_converts_after_it(convert):
    # DataLoader workers are forked after the main process has read frames: a scaler that crosses
    # the fork must not wait for threads the fork did not copy (it hung with PyAV's default threads)
    frame = av.VideoFrame.from_ndarray(moving_rect(1)[0], format="rgb24").reformat(format="yuv420p",
                                                                                   threads=1)
    convert(frame)
    child = multiprocessing.get_context("fork").Process(target=convert, args=(frame,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
@pytest.mark.parametrize("name,fmt,codec", [("walk.mp4", "mp4", "libx264"), ("walk.avi", "avi", "mpeg4"),
                                            ("walk.mkv", "matroska", "ffv1")])
def test_reading_a_video_starts_no_thread(tmp_path, name, fmt, codec):
    # DataLoader workers are forked: no pool of threads may live in them (PyAV's defaults start
    # one for the scaler and one for slice-threaded decoders such as H.264 and FFV1)
    path = str(tmp_path / name)
    write_video(path, moving_rect(4), fmt, codec)
    before = threads_now()
    seen = decode_frames(path, lambda frame: (rgb24(frame), grey_resized(frame, 64), threads_now())[-1])
    assert len(seen) == 4 and max(seen) <= before   # (another test's idle thread may end meanwhile)


def threads_now() -> int:
    """The threads of this process, native ones included."""
    return len(os.listdir("/proc/self/task"))
