import numpy as np
import pytest
import torch

from app.forecasting.train import TrainConfig, predict_windows, train_model
from app.pipeline.forecasting.lstm import (
    LSTMConfig,
    LSTMForecaster,
    TrajectoryLSTM,
    load_forecaster,
    resample_history,
    save_checkpoint,
)
from app.pipeline.history import History


def _history(fps, seconds=4.0, v=(40.0, 5.0), h=80.0, tid=1):
    t = np.arange(0, seconds, 1 / fps)
    cx, cy = 200 + v[0] * t, 300 + v[1] * t
    return History(tid, t, np.stack([cx - h / 8, cy - h / 2, cx + h / 8, cy + h / 2], 1))


def _model(seed=0):
    torch.manual_seed(seed)
    return TrajectoryLSTM(LSTMConfig(hidden=16))


def test_resample_uses_timestamps_and_marks_missing_past():
    t = np.array([0.0, 0.1, 0.35, 0.5])
    xy = np.stack([t * 10, t * 0], 1)
    pos, valid = resample_history(t, xy, obs_len=4, step_s=0.2)
    np.testing.assert_allclose(pos[:, 0], [0.0, 1.0, 3.0, 5.0])  # times -0.1 (invalid), 0.1, 0.3, 0.5
    assert valid.tolist() == [False, True, True, True]


@pytest.mark.parametrize("fps", [7, 25, 30])
def test_forecasts_are_pixels_at_requested_offsets(fps):
    offsets = np.array([0.5, 1.0, 2.5, 6.0])  # 6 s is past the 4.8 s trained horizon
    (f,) = LSTMForecaster(_model()).predict([_history(fps)], offsets)
    np.testing.assert_allclose(f.offsets_s, offsets)
    assert f.method == "lstm" and f.xy.shape == (4, 2) and np.all(f.sigma > 0)
    last = _history(fps).centers[-1]
    assert np.all(np.abs(f.xy - last) < 2000)  # pixels near the track, not normalised units


def test_short_history_falls_back_to_constant_velocity():
    h = _history(30, seconds=0.2)  # shorter than one 0.4 s model step
    (f,) = LSTMForecaster(_model()).predict([h], np.array([1.0]))
    assert f.method == "constant_velocity_fallback"


@pytest.mark.parametrize(
    ("history", "error"),
    [
        (History(1, np.array([0.0, 0.1]), np.array([[0, 0, 1, 1], [np.nan, 0, 1, 1]], float)), "NaN or inf"),
        (History(1, np.zeros(0), np.zeros((0, 4))), "empty"),
    ],
)
def test_bad_histories_get_clear_errors(history, error):
    with pytest.raises(ValueError, match=error):
        LSTMForecaster(_model()).predict([history], np.array([1.0]))


def test_checkpoint_roundtrip_gives_identical_forecasts(tmp_path):
    model = _model(3)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, sigma_scale=1.3, normalisation="box_height")
    histories = [_history(7, tid=1), _history(25, v=(-10, 3), tid=2)]
    a = LSTMForecaster(model, sigma_scale=1.3).predict(histories, np.array([0.4, 2.0]))
    b = load_forecaster(path).predict(histories, np.array([0.4, 2.0]))
    for fa, fb in zip(a, b):
        np.testing.assert_array_equal(fa.xy, fb.xy)
        np.testing.assert_array_equal(fa.sigma, fb.sigma)


def test_load_rejects_non_checkpoint(tmp_path):
    p = tmp_path / "x.pt"
    p.write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a Trackcast forecaster checkpoint"):
        load_forecaster(p)


def test_tiny_model_overfits_tiny_dataset():
    rng = np.random.default_rng(0)
    t = np.arange(20)[None, :, None]
    v = rng.normal(0, 0.3, (32, 1, 2))
    a = rng.normal(0, 0.02, (32, 1, 2))
    traj = v * t + 0.5 * a * t**2  # curved tracks: constant velocity cannot fit them
    obs, fut = traj[:, :8], traj[:, 8:]
    cfg = TrainConfig(
        epochs=1500, batch_size=32, lr=5e-3, truncate_prob=0.0, augment=False, seed=0, threads=1
    )
    model = train_model(obs, fut, np.ones(32), LSTMConfig(hidden=32), cfg, progress=False)
    torch.manual_seed(0)
    pred, _ = predict_windows(model, obs, np.ones(32))
    err = np.linalg.norm(pred - fut, axis=-1).mean()
    cv = np.linalg.norm(
        obs[:, -1:] + (obs[:, -1:] - obs[:, -2:-1]) * np.arange(1, 13)[None, :, None] - fut, axis=-1
    )
    assert err < 0.5 * cv.mean(), (err, cv.mean())
