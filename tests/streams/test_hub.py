import asyncio
import json

import pytest

from app.streams.hub import EventHub


def test_a_full_queue_drops_oldest_and_reports_it_without_touching_other_subscribers():
    async def main():
        drops = []
        hub = EventHub(capacity=3, on_drop=drops.append)
        _, slow = hub.subscribe("a")
        _, fast = hub.subscribe("a")
        _, other = hub.subscribe("b")
        got_fast = []
        for i in range(10):
            hub.publish("a", json.dumps({"i": i}))
            got_fast.append(json.loads(await fast.next())["i"])  # keeps up
        assert got_fast == list(range(10))
        first = json.loads(await slow.next())
        assert first == {"version": 1, "type": "dropped", "count": 7, "total": 7}
        assert [json.loads(await slow.next())["i"] for _ in range(3)] == [7, 8, 9]  # newest kept
        assert sum(drops) == 7 and other.depth == 0
        hub.close_stream("a", "ended")
        assert await slow.next() is None and slow.close_reason == "ended"
        assert other.close_reason is None

    asyncio.run(main())


def test_frames_go_only_to_subscribers_that_asked():
    async def main():
        hub = EventHub(capacity=4)
        _, plain = hub.subscribe(None)
        _, viewer = hub.subscribe("s", frames=True)
        assert hub.wants_frames("s") and not hub.wants_frames("t")
        hub.publish("s", '{"img": null}', with_frame='{"img": "..."}')
        assert await plain.next() == '{"img": null}'
        assert await viewer.next() == '{"img": "..."}'

    asyncio.run(main())


def test_capacity_is_validated():
    hub = EventHub(capacity=0)
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        hub.subscribe("a")
