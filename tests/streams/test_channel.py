import asyncio
import threading
import time

import numpy as np
import pytest

from app.streams.channel import ChannelClosed, FrameChannel, SourceFrame


def _frame(i: int) -> SourceFrame:
    return SourceFrame(i, i / 10, np.zeros((2, 2, 3), np.uint8), time.monotonic())


def test_live_channel_keeps_the_newest_frames_and_counts_drops():
    async def main():
        ch = FrameChannel(asyncio.get_running_loop(), capacity=2, drop_oldest=True)
        for i in range(10):
            ch.put(_frame(i))
        ch.end()
        got = [(await ch.get()).index, (await ch.get()).index]
        assert got == [8, 9] and ch.dropped == 8
        assert await ch.get() is None and ch.error is None

    asyncio.run(main())


def test_file_channel_applies_back_pressure_and_loses_nothing():
    async def main():
        ch = FrameChannel(asyncio.get_running_loop(), capacity=3, drop_oldest=False)

        def produce():
            for i in range(50):
                ch.put(_frame(i))
            ch.end("video ended early")

        t = threading.Thread(target=produce)
        t.start()
        seen = []
        while (f := await ch.get()) is not None:
            assert len(ch) <= 3
            seen.append(f.index)
            await asyncio.sleep(0.001)
        t.join()
        assert seen == list(range(50)) and ch.dropped == 0 and ch.error == "video ended early"

    asyncio.run(main())


def test_cancel_stops_a_waiting_producer():
    async def main():
        ch = FrameChannel(asyncio.get_running_loop(), capacity=1, drop_oldest=False)
        ch.put(_frame(0))
        errors = []

        def produce():
            try:
                ch.put(_frame(1))  # blocks: full
            except ChannelClosed as exc:
                errors.append(exc)

        t = threading.Thread(target=produce)
        t.start()
        await asyncio.sleep(0.1)
        ch.cancel()
        t.join(5)
        assert errors and not t.is_alive()

    asyncio.run(main())
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        FrameChannel(asyncio.new_event_loop(), 0, True)
