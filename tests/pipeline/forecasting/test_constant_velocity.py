import numpy as np
import pytest

from app.pipeline.forecasting import ConstantVelocityForecaster, check_offsets
from app.pipeline.history import History


def _history(fps, n=10, vx=30.0, vy=-10.0, drop=()):
    """A 20x50 px box moving at (vx, vy) px/s, sampled at `fps`, some frames dropped."""
    idx = np.array([i for i in range(n) if i not in drop])
    t = idx / fps
    cx, cy = 100 + vx * t, 200 + vy * t
    xyxy = np.stack([cx - 10, cy - 25, cx + 10, cy + 25], 1)
    return History(1, t, xyxy)


@pytest.mark.parametrize("fps", [7, 25, 30])
def test_constant_velocity_is_in_pixels_at_requested_offsets(fps):
    h = _history(fps, drop=(3, 5))
    offsets = np.array([0.5, 1.0, 2.0])
    (f,) = ConstantVelocityForecaster().predict([h], offsets)
    np.testing.assert_allclose(f.offsets_s, offsets)
    last = h.centers[-1]
    np.testing.assert_allclose(f.xy, last + offsets[:, None] * np.array([30.0, -10.0]), atol=1e-6)
    assert np.all(np.diff(f.sigma[:, 0]) > 0)  # uncertainty grows with the horizon
    assert f.method == "constant_velocity"


def test_single_point_history_falls_back_to_static():
    h = _history(10, n=1)
    (f,) = ConstantVelocityForecaster().predict([h], np.array([1.0]))
    assert f.method == "static"
    np.testing.assert_allclose(f.xy[0], h.centers[0])


@pytest.mark.parametrize("offsets", [[], [0.0, 1.0], [1.0, 0.5], [np.nan]])
def test_bad_offsets_are_rejected(offsets):
    with pytest.raises(ValueError, match="offsets_s"):
        check_offsets(np.array(offsets))


def test_constructor_validates_arguments():
    with pytest.raises(ValueError, match="window_s"):
        ConstantVelocityForecaster(window_s=0)
