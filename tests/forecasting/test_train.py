import numpy as np

from app.forecasting.train import _batch_inputs
from app.pipeline.forecasting.lstm import LSTMConfig


def test_speed_jitter_scales_past_and_future_alike_within_bounds():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(64, 8, 2)).cumsum(1)
    fut = obs[:, -1:] + rng.normal(size=(64, 12, 2)).cumsum(1)
    cfg = LSTMConfig(pred_len=12)

    def inputs(jitter):
        (x, _, _), y = _batch_inputs(
            obs, fut, np.ones(64), np.random.default_rng(1), 0.0, augment=True, rotate=False,
            config=cfg, speed_jitter=jitter,
        )  # fmt: skip
        return x.numpy(), y.numpy()

    x0, y0 = inputs(0.0)
    x1, y1 = inputs(0.2)
    # Same rng stream for the mirror, so the only difference is one factor per window.
    factor_past = np.linalg.norm(x1[..., :2], axis=(1, 2)) / np.linalg.norm(x0[..., :2], axis=(1, 2))
    factor_future = np.linalg.norm(y1, axis=(1, 2)) / np.linalg.norm(y0, axis=(1, 2))
    np.testing.assert_allclose(factor_past, factor_future, rtol=1e-5)
    assert np.all(factor_past >= np.exp(-0.2) - 1e-6) and np.all(factor_past <= np.exp(0.2) + 1e-6)
    assert factor_past.std() > 0.05  # really jittered, per window
