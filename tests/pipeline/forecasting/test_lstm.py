from pathlib import Path

import numpy as np
import pytest
import torch

from app.forecasting.train import TrainConfig, predict_windows, train_model
from app.pipeline.forecasting import ConstantVelocityForecaster, Forecaster
from app.pipeline.forecasting.lstm import (
    LSTMConfig,
    LSTMForecaster,
    TrajectoryLSTM,
    load_forecaster,
    resample_history,
    save_checkpoint,
)
from app.pipeline.history import History

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "forecaster" / "lstm.pt"


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
    one = History(2, np.array([5.0]), np.array([[0.0, 0.0, 10.0, 20.0]]))
    f, g = LSTMForecaster(_model()).predict([h, one], np.array([1.0]))
    assert f.method == "constant_velocity_fallback"
    np.testing.assert_allclose(f.xy, ConstantVelocityForecaster().predict([h], np.array([1.0]))[0].xy)
    assert g.method == "static_fallback"
    np.testing.assert_allclose(g.xy, [[5.0, 10.0]])


def test_history_shorter_than_the_window_is_masked_not_refused():
    h = _history(25, seconds=1.0)  # 1 s < the 2.8 s the model reads: masked steps
    (f,) = LSTMForecaster(_model()).predict([h], np.array([1.0]))
    assert f.method == "lstm"


def test_batched_prediction_equals_one_track_at_a_time():
    fc = LSTMForecaster(_model(1))
    hs = [
        _history(7, tid=1),
        _history(25, seconds=1.3, v=(-30, 2), tid=2),
        _history(30, 0.1, tid=3),
        _history(10, seconds=9.0, v=(5, 5), tid=4),
    ]
    offsets = np.array([0.1, 0.4, 3.3, 5.0])
    batched = fc.predict(hs, offsets)
    assert [f.track_id for f in batched] == [1, 2, 3, 4]
    for h, f in zip(hs, batched):
        (single,) = fc.predict([h], offsets)
        np.testing.assert_allclose(f.xy, single.xy, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(f.sigma, single.sigma, rtol=1e-5, atol=1e-4)
        assert f.method == single.method


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


def test_non_monotonic_timestamps_are_refused():
    h = History(9, np.array([0.0, 0.2, 0.1]), np.tile([0.0, 0.0, 10.0, 20.0], (3, 1)))
    with pytest.raises(ValueError, match="track 9: timestamps must be strictly increasing"):
        LSTMForecaster(_model()).predict([h], np.array([1.0]))


@pytest.mark.parametrize("offsets", [np.array([0.0, 1.0]), np.array([1.0, 0.5]), np.zeros((2, 2))])
def test_bad_offsets_are_refused(offsets):
    with pytest.raises(ValueError, match="offsets_s"):
        LSTMForecaster(_model()).predict([_history(25)], offsets)


def test_wrong_history_shapes_fail_at_construction():
    with pytest.raises(ValueError, match="xyxy must have shape"):
        History(1, np.arange(3.0), np.zeros((3, 2)))


@pytest.mark.parametrize("fps", [7, 25, 30])
def test_shipped_model_follows_a_straight_track_at_any_frame_rate(fps):
    """Time is read from timestamps: a steady walker is forecast near its line at 7, 25 and 30 fps."""
    fc = load_forecaster(SHIPPED)
    assert isinstance(fc, Forecaster)
    h = _history(fps, seconds=4.0, v=(60.0, 0.0), h=100.0)
    offsets = np.arange(1, 25) * 0.2
    (f,) = fc.predict([h], offsets)
    truth = h.centers[-1] + offsets[:, None] * np.array([60.0, 0.0])
    assert f.method == "lstm"
    np.testing.assert_allclose(f.offsets_s, offsets)
    err = np.linalg.norm(f.xy - truth, axis=1) / 100.0  # in box heights
    assert err[4] < 0.15 and err[-1] < 0.8, err  # 1 s and 4.8 s ahead (it moves 2.9 box heights)
    assert np.all(np.diff(f.sigma[:, 0]) > -1e-6)  # uncertainty does not shrink with the horizon


def test_shipped_checkpoint_carries_its_metadata():
    ckpt = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    assert {"model_args", "model", "normalisation", "sigma_scale", "provenance", "val_metrics"} <= set(ckpt)
    assert ckpt["normalisation"]["kind"] == "box_height"
    assert ckpt["provenance"]["test_sequences"] and ckpt["provenance"]["fps"]["traf"] == 20
    assert SHIPPED.stat().st_size < 5_000_000


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


def test_box_feature_model_reads_box_growth_when_serving():
    torch.manual_seed(0)
    fc = LSTMForecaster(TrajectoryLSTM(LSTMConfig(hidden=16, box_features=True)))
    steady = _history(25)
    t = steady.t
    grow = 80.0 * (1 + 0.2 * t)[:, None] / 80.0  # the box grows 20% a second around the same centres
    c = steady.centers
    h = 80.0 * grow[:, 0]
    growing = History(2, t, np.stack([c[:, 0] - h / 8, c[:, 1] - h / 2, c[:, 0] + h / 8, c[:, 1] + h / 2], 1))
    a, b = fc.predict([steady, growing], np.array([1.0, 2.0]))
    assert a.method == b.method == "lstm"
    assert not np.allclose(a.xy, b.xy)  # same motion, other box history: another forecast


def test_social_model_reads_neighbours_and_runs_alone():
    torch.manual_seed(0)
    model = TrajectoryLSTM(LSTMConfig(hidden=16, neighbours=3)).eval()
    x = torch.randn(2, 7, 3)
    x[..., 2] = 1.0
    nb = torch.randn(2, 3, 7)
    with torch.no_grad():
        alone, _ = model(x)
        nobody, _ = model(x, nb, torch.zeros(2, 3, dtype=torch.bool))
        crowd, _ = model(x, nb, torch.ones(2, 3, dtype=torch.bool))
    torch.testing.assert_close(alone, nobody)
    assert not torch.allclose(alone, crowd)


def test_social_forecaster_reads_only_tracks_seen_at_the_same_moment():
    torch.manual_seed(0)
    model = TrajectoryLSTM(LSTMConfig(obs_len=4, pred_len=5, step_s=0.2, hidden=16, neighbours=2))
    with torch.no_grad():
        for p in model.social.parameters():
            p.add_(torch.randn_like(p))  # make the pooled neighbours matter
    fc = LSTMForecaster(model)
    ego = _history(25, seconds=2.0, tid=1)
    near = _history(25, seconds=2.0, v=(-30.0, 0.0), tid=2)
    offsets = np.array([0.5, 1.0])
    alone = fc.predict([ego], offsets)[0]
    with_near = fc.predict([ego, near], offsets)[0]
    assert not np.allclose(alone.xy, with_near.xy)
    # Last seen one second earlier (a lost track): not a neighbour at this moment.
    stale = History(2, near.t[:-25], near.xyxy[:-25])
    np.testing.assert_allclose(fc.predict([ego, stale], offsets)[0].xy, alone.xy)
    # Batched answers equal one call per group of tracks seen together.
    both = fc.predict([ego, near, History(3, stale.t, stale.xyxy)], offsets)
    np.testing.assert_allclose(both[0].xy, with_near.xy, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"base_k": 0}, "base_k"), ({"base_k": 8}, "base_k"), ({"neighbours": -1}, "neighbours")],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTMConfig(**kwargs)
