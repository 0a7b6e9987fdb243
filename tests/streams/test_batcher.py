"""The shared batcher with the real detector: frames of concurrent streams share calls."""

import asyncio

import numpy as np
import pytest

from app.streams.batcher import DetectionBatcher


def test_concurrent_streams_are_batched_and_get_their_own_detections(detector, pets_frames):
    frames = [f for _, _, f in pets_frames[:8]]
    expected = [detector.detect([f])[0] for f in frames]

    async def main():
        b = DetectionBatcher(detector, max_batch=4)
        b.start()
        try:
            return await asyncio.gather(*(b.detect(f) for f in frames)), b.stats
        finally:
            await b.close()

    got, stats = asyncio.run(main())
    assert stats.frames == 8 and stats.calls < 8 and max(stats.sizes) <= 4
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g.xyxy, e.xyxy, atol=1e-3)


def test_a_bad_frame_fails_only_its_own_request(detector, pets_frames):
    good = pets_frames[0][2]

    async def main():
        b = DetectionBatcher(detector, max_batch=8)
        b.start()
        try:
            return await asyncio.gather(b.detect(good), b.detect(np.zeros((4, 4), np.uint8)), b.detect(good),
                                        return_exceptions=True)  # fmt: skip
        finally:
            await b.close()

    a, bad, c = asyncio.run(main())
    assert isinstance(bad, ValueError) and "frames[0] must be a (H, W, 3) uint8" in str(bad)
    assert len(a) > 0 and len(c) == len(a)
    with pytest.raises(ValueError, match="max_batch"):
        DetectionBatcher(detector, max_batch=0)
