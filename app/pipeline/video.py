"""Offline frame sources: a video file, a folder of images, or a stream URL, with timestamps.

Decoding is OpenCV's (FFmpeg backend). Live sources with reconnection and frame dropping live in
``app.streams``; this module reads everything in order, for the CLI and for uploaded files.
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["IMAGE_SUFFIXES", "VideoError", "VideoInfo", "VideoReader", "fps_from_seqinfo", "is_url"]

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# FFmpeg's tty demuxer renders any text file as "video" (codecs ansi, bintext, xbin, idf): not a video
TEXT_CODECS = ("ansi", "bint", "xbin", "idf")
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class VideoError(Exception):
    """The source cannot be opened or stopped early; ``str()`` is a user-facing message."""


def is_url(source: str) -> bool:
    return source.lower().startswith(URL_SCHEMES)


def fps_from_seqinfo(video: Path) -> float | None:
    """Frame rate from a MOTChallenge ``seqinfo.ini`` beside ``video``, if there is one."""
    ini = video.parent / "seqinfo.ini"
    if not ini.is_file():
        return None
    cp = configparser.ConfigParser()
    cp.read(ini)
    rate = cp.get("Sequence", "frameRate", fallback=None)
    return float(rate) if rate else None


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a source before reading it.

    Attributes:
        fps: frame rate used for timestamps, frames per second.
        fps_source: where fps came from (``"override"``, ``"seqinfo.ini"``, ``"container"``, ``"default"``).
        frame_count: frames the container announces (None for live sources and image folders without).
        width, height: frame size in pixels (0 if unknown until the first frame).
    """

    fps: float
    fps_source: str
    frame_count: int | None
    width: int
    height: int


class VideoReader:
    """Iterate ``(index, timestamp_s, frame)`` over a file, an image folder, or a URL.

    Timestamps are ``index / fps`` for files and folders (deterministic, and what MOT ground truth
    assumes); for URLs they are the decoder's position when it gives one.

    Args:
        source: path to a video file or image folder, or a URL (rtsp://, http(s)://...).
        fps: frame-rate override (> 0); otherwise ``seqinfo.ini`` beside the file, then the container,
            then 30.

    Raises:
        VideoError: missing path, unreadable or non-video file, empty folder, unreachable URL.
    """

    def __init__(self, source: str | Path, fps: float | None = None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.source = str(source)
        self._images: list[Path] | None = None
        self._cap: cv2.VideoCapture | None = None
        self.frames_read = 0
        if is_url(self.source):
            self._cap = self._open(self.source)
        else:
            path = Path(self.source)
            if not path.exists():
                raise VideoError(f"no such file or folder: {self.source}")
            if path.is_dir():
                self._images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                if not self._images:
                    raise VideoError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {self.source}")
            else:
                self._cap = self._open(self.source)
        self.info = self._info(fps)

    @staticmethod
    def _open(source: str) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            what = "cannot connect to stream" if is_url(source) else "not a readable video file"
            raise VideoError(f"{what}: {source}")
        return cap

    def _info(self, fps: float | None) -> VideoInfo:
        if self._images is not None:
            first = cv2.imread(str(self._images[0]))
            if first is None:
                raise VideoError(f"cannot decode image {self._images[0]}")
            rate, src = (fps, "override") if fps else (30.0, "default")
            return VideoInfo(rate, src, len(self._images), first.shape[1], first.shape[0])
        assert self._cap is not None
        cap = self._cap
        container_fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        seq = None if is_url(self.source) else fps_from_seqinfo(Path(self.source))
        if fps:
            rate, src = fps, "override"
        elif seq:
            rate, src = seq, "seqinfo.ini"
        elif container_fps and 0 < container_fps < 1000:
            rate, src = container_fps, "container"
        else:
            rate, src = 30.0, "default"
        codec = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1").strip().lower()
        if not is_url(self.source) and (w <= 0 or h <= 0 or codec in TEXT_CODECS):
            raise VideoError(f"not a readable video file: {self.source}")
        return VideoInfo(float(rate), src, count if count > 0 and not is_url(self.source) else None, w, h)

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        fps = self.info.fps
        if self._images is not None:
            for i, p in enumerate(self._images):
                frame = cv2.imread(str(p))
                if frame is None:
                    raise VideoError(f"cannot decode image {p} (frame {i})")
                self.frames_read = i + 1
                yield i, i / fps, frame
            return
        assert self._cap is not None
        live = is_url(self.source)
        i = 0
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            t = i / fps
            if live:
                pos = self._cap.get(cv2.CAP_PROP_POS_MSEC)
                t = pos / 1000.0 if pos and pos > 0 else t
            self.frames_read = i + 1
            yield i, t, frame
            i += 1
        expected = self.info.frame_count
        if expected is not None and i < expected:
            raise VideoError(
                f"video ended early: decoded {i} of {expected} frames announced by the container "
                f"(truncated or corrupt file: {self.source})"
            )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
