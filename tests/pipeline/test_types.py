import numpy as np
import pytest

from app.pipeline.types import Detections, Forecast, xyxy_to_center, xyxy_to_tlwh


@pytest.mark.parametrize(
    ("xyxy", "conf", "cls", "error"),
    [
        (np.zeros((2, 4)), np.zeros(2), np.zeros(2, int), None),
        (np.zeros((2, 3)), np.zeros(2), np.zeros(2, int), "xyxy must have shape"),
        (np.zeros((2, 4)), np.zeros(3), np.zeros(2, int), "confidence must have shape"),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(1, int), "class_id must have shape"),
        ([[0, 0, 1, 1]], np.zeros(1), np.zeros(1, int), "must be a numpy array"),
    ],
)
def test_detections_validates_shapes(xyxy, conf, cls, error):
    if error is None:
        assert len(Detections(xyxy, conf, cls)) == 2
    else:
        with pytest.raises((ValueError, TypeError), match=error):
            Detections(xyxy, conf, cls)


def test_detections_filter_keeps_masked_rows():
    d = Detections(np.arange(8, dtype=np.float32).reshape(2, 4), np.array([0.2, 0.9]), np.array([0, 2]))
    kept = d.filter(d.confidence > 0.5)
    assert len(kept) == 1 and kept.class_id[0] == 2 and kept.xyxy[0, 0] == 4


def test_forecast_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="xy must have shape"):
        Forecast(1, np.array([0.1, 0.2]), np.zeros((3, 2)), np.zeros((2, 2)), "x")


def test_box_converters():
    b = np.array([[10.0, 20.0, 30.0, 60.0]])
    assert xyxy_to_center(b).tolist() == [[20.0, 40.0]]
    assert xyxy_to_tlwh(b).tolist() == [[10.0, 20.0, 20.0, 40.0]]


def test_forecast_batch_equals_one_by_one_and_checks_shapes_once():
    offsets = np.array([0.5, 1.0, 1.5])
    xy, sigma = np.random.default_rng(0).random((2, 4, 3, 2))
    batch = Forecast.batch([1, 2, 3, 4], offsets, xy, sigma, "lstm")
    single = [Forecast(i + 1, offsets, xy[i], sigma[i], "lstm") for i in range(4)]
    for a, b in zip(batch, single):
        assert a.track_id == b.track_id and a.method == b.method
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.sigma, b.sigma)
    with pytest.raises(ValueError, match="xy must have shape"):
        Forecast.batch([1, 2, 3], offsets, xy, sigma, "lstm")  # 3 ids, 4 rows
    with pytest.raises(ValueError, match="sigma must have shape"):
        Forecast.batch([1, 2, 3, 4], offsets, xy, sigma[:, :2], "lstm")
