import numpy as np
import pytest

from app.pipeline.history import History, HistoryStore
from app.pipeline.types import Track, TrackEvent, TrackState


def _track(tid, x=0.0):
    return Track(tid, 0, 0.9, np.array([x, 0, x + 10, 20.0]), TrackState.TRACKED)


def test_history_store_reports_lifecycle_once_each():
    store = HistoryStore(max_seconds=5)
    assert store.update(0.0, [_track(1)], set(), set()) == [(1, TrackEvent.APPEARED)]
    assert store.update(0.1, [_track(1, 1)], set(), set()) == []
    assert store.update(0.2, [], {1}, set()) == [(1, TrackEvent.LOST)]
    assert store.update(0.3, [], {1}, set()) == []
    assert store.update(0.4, [], set(), {1}) == [(1, TrackEvent.ENDED)]
    assert store.get(1) is None


def test_history_is_bounded_in_seconds_and_timestamped():
    store = HistoryStore(max_seconds=1.0)
    for i in range(30):
        store.update(i * 0.1, [_track(7, i)], set(), set())
    h = store.get(7)
    assert h is not None
    assert h.t[-1] == pytest.approx(2.9) and h.t[0] >= 1.9 - 1e-9
    assert np.all(np.diff(h.t) > 0)
    np.testing.assert_allclose(h.centers[-1], [34.0, 10.0])


def test_history_ignores_repeated_timestamps():
    store = HistoryStore()
    store.update(1.0, [_track(1)], set(), set())
    store.update(1.0, [_track(1, 5)], set(), set())
    assert len(store.get(1)) == 1


def test_history_rejects_bad_shapes():
    with pytest.raises(ValueError, match="xyxy must have shape"):
        History(1, np.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="max_seconds"):
        HistoryStore(max_seconds=0)
