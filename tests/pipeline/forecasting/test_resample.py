import numpy as np
import pytest

from app.pipeline.forecasting.resample import offsets_matrix, resample_batch, resample_history
from app.pipeline.history import History


def _hist(t, tid=1, h=50.0):
    t = np.asarray(t, float)
    cx, cy = 3.0 * t + 100, -2.0 * t * t + 50
    return History(tid, t, np.stack([cx - 5, cy - h / 2, cx + 5, cy + h / 2], 1))


def test_batch_matches_single_track_resampling_for_mixed_lengths():
    hs = [_hist(np.arange(0, 3, 1 / 25), 1), _hist([0.0, 0.13, 0.5, 0.61], 2), _hist([2.0], 3)]
    pos, valid, height, span = resample_batch(hs, obs_len=8, step_s=0.2)
    for i, h in enumerate(hs):
        p, v = resample_history(h.t, h.centers, 8, 0.2)
        np.testing.assert_allclose(pos[i], p, atol=1e-9)
        assert valid[i].tolist() == v.tolist()
    np.testing.assert_allclose(height, 50.0)
    np.testing.assert_allclose(span, [2.96, 0.61, 0.0], atol=1e-9)
    np.testing.assert_allclose(pos[:, -1], [h.centers[-1] for h in hs])  # ends at the last observation


@pytest.mark.parametrize(
    ("histories", "match"),
    [
        (
            [_hist([0.0, 0.1]), History(7, np.array([0.0, 0.2, 0.1]), np.ones((3, 4)))],
            "track 7.*strictly increasing",
        ),
        ([History(4, np.array([0.0, 0.1]), np.array([[0, 0, 1, np.nan], [0, 0, 1, 1]]))], "track 4 has NaN"),
        ([History(5, np.array([0.0, np.inf]), np.ones((2, 4)))], "track 5 has NaN"),
        ([History(6, np.zeros(0), np.zeros((0, 4)))], "track 6 is empty"),
    ],
)
def test_bad_histories_are_rejected_naming_the_track(histories, match):
    with pytest.raises(ValueError, match=match):
        resample_batch(histories, 8, 0.2)


def test_offsets_matrix_interpolates_and_extrapolates_linearly():
    y = np.array([1.0, 2.0, 4.0])  # values at 0.5, 1.0, 1.5 s; 0 at offset 0
    w = offsets_matrix(0.5, 3, np.array([0.25, 0.5, 1.25, 1.5, 2.5]))
    np.testing.assert_allclose(w @ y, [0.5, 1.0, 3.0, 4.0, 8.0])  # 2.5 s: slope 4 per s past 1.5 s
