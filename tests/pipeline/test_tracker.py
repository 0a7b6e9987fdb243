import numpy as np
import pytest

from app.pipeline.tracker import Tracker, TrackerConfig
from app.pipeline.types import Detections


def _dets(boxes, conf=0.9):
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(b, np.full(len(b), conf, np.float32), np.zeros(len(b), np.int64))


def _walk(n, x0=100.0, step=6.0):
    """A 20x50 px box walking right by `step` px a frame."""
    return [[x0 + i * step, 100, x0 + i * step + 20, 150] for i in range(n)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "sort"}, "kind must be one of"),
        ({"high_thresh": 1.5}, "high_thresh"),
        ({"low_thresh": 0.5, "high_thresh": 0.3}, "low_thresh"),
        ({"buffer_s": 0}, "buffer_s"),
    ],
)
def test_tracker_config_rejects_bad_values(kwargs, error):
    with pytest.raises(ValueError, match=error):
        TrackerConfig(**kwargs)


def test_tracker_rejects_non_positive_fps():
    with pytest.raises(ValueError, match="fps"):
        Tracker(fps=0)


@pytest.mark.parametrize("kind", ["botsort", "bytetrack", "ocsort"])
def test_tracker_keeps_one_id_for_a_walking_box(kind):
    tracker = Tracker(TrackerConfig(kind=kind), fps=7)
    ids = set()
    for box in _walk(20):
        out = tracker.update(_dets([box]))
        ids |= {t.track_id for t in out.tracked}
    assert ids == {1}


def test_two_streams_keep_separate_id_spaces():
    a, b = Tracker(fps=7), Tracker(fps=7)
    for box in _walk(5):
        ids_a = [t.track_id for t in a.update(_dets([box, [300, 100, 320, 150]])).tracked]
    ids_b = [t.track_id for t in b.update(_dets([[50, 50, 70, 100]])).tracked]
    for _ in range(3):
        ids_b = [t.track_id for t in b.update(_dets([[50, 50, 70, 100]])).tracked]
    assert sorted(ids_a) == [1, 2]
    assert ids_b == [1]  # stream b's ids start fresh, unaffected by stream a


def test_lost_buffer_is_set_in_seconds():
    """A track missing for 1.5 s is re-found with buffer 2 s and dropped with buffer 1 s, at 10 fps."""
    for buffer_s, expect_same in ((2.0, True), (1.0, False)):
        tracker = Tracker(TrackerConfig(buffer_s=buffer_s), fps=10)
        box = [100, 100, 120, 150]
        for _ in range(5):
            first = tracker.update(_dets([box])).tracked[0].track_id
        removed = set()
        for _ in range(15):
            removed |= tracker.update(Detections.empty()).removed
        after = [t.track_id for t in tracker.update(_dets([box])).tracked]
        after += [t.track_id for t in tracker.update(_dets([box])).tracked]
        assert (first in after) is expect_same
        assert (first in removed) is not expect_same


def test_tracker_reports_detection_index_and_class():
    tracker = Tracker(fps=10)
    d = Detections(
        np.array([[0, 0, 10, 20], [50, 50, 70, 100]], np.float32),
        np.array([0.9, 0.8], np.float32),
        np.array([2, 0]),
    )
    for _ in range(2):
        out = tracker.update(d)
    by_index = {t.det_index: t for t in out.tracked}
    assert by_index[0].class_id == 2 and by_index[1].class_id == 0
    np.testing.assert_allclose(by_index[1].xyxy, [50, 50, 70, 100], atol=1.0)
