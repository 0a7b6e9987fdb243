import numpy as np
import pytest

from app.forecasting.experiment import load_config
from app.forecasting.pixel import PixelTrack, load_sequence, windows_from_tracks
from app.forecasting.train import _batch_inputs
from app.pipeline.forecasting.lstm import LSTMConfig

CONFIG = "models/forecaster/train.toml"


def test_traf_boxes_are_left_top_width_height_and_duplicate_ids_dropped(tmp_path):
    (tmp_path / "traf").mkdir()
    lines = [
        "0,2,100,50,20,40,ped0,300,60,40,20,car0",
        "1,3,102,50,20,40,ped0,304,60,40,20,car0,500,500,10,10,car0",  # car0 twice: both dropped
        "2,2,104,50,20,40,ped0,312,60,40,20,car0",
    ]
    (tmp_path / "traf" / "TRAFX_gt.txt").write_text("\n".join(lines) + "\n")
    tracks = {t.track_id: t for t in load_sequence(tmp_path, "traf/TRAFX")}
    np.testing.assert_allclose(tracks["ped0"].xy[0], [110.0, 70.0])  # left + w/2, top + h/2
    np.testing.assert_allclose(tracks["ped0"].height, 40.0)
    np.testing.assert_allclose(tracks["ped0"].t, [0.0, 0.05, 0.1])  # 20 fps assumed
    np.testing.assert_allclose(tracks["car0"].t, [0.0, 0.1])
    assert tracks["car0"].label == "car"


def test_windows_are_resampled_from_timestamps_and_split_at_gaps():
    t = np.r_[np.arange(0, 3.0, 0.1), np.arange(5.0, 6.05, 0.1)]  # 2 s gap
    tr = PixelTrack("x/1", "1", t, np.stack([10 * t, 0 * t], 1), np.full(len(t), 50.0), "person")
    w = windows_from_tracks([tr], obs_len=4, pred_len=6, step_s=0.2, max_gap_s=0.5)
    # first piece 0..2.9 s: 15 grid points -> 6 windows; second 5..6 s: 6 points -> none of 10
    assert len(w) == 6
    np.testing.assert_allclose(np.diff(w.obs[0, :, 0]), 2.0)  # 10 px/s * 0.2 s
    np.testing.assert_allclose(w.fut[0, 0] - w.obs[0, -1], [2.0, 0.0])
    np.testing.assert_allclose(w.scale, 50.0)


def test_training_inputs_never_see_the_future():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4, 8, 2)).cumsum(1)
    fut_a, fut_b = rng.normal(size=(4, 12, 2)), rng.normal(size=(4, 12, 2))
    height = rng.uniform(20, 80, (4, 8))
    nb = rng.normal(size=(4, 3, 2, 2))
    cfg = LSTMConfig(box_features=True, neighbours=3)
    (xa, na, _), _ = _batch_inputs(
        obs, fut_a, np.ones(4), None, 0.0, height=height, neighbours=nb, config=cfg
    )
    (xb, nb_, _), _ = _batch_inputs(
        obs, fut_b, np.ones(4), None, 0.0, height=height, neighbours=nb, config=cfg
    )
    assert xa.shape == (4, 7, 4) and na.shape == (4, 3, 7)
    assert np.array_equal(xa.numpy(), xb.numpy()) and np.array_equal(na.numpy(), nb_.numpy())


def test_shipped_split_is_by_sequence_and_every_split_has_windows(shared_dir):
    cfg = load_config(CONFIG)
    splits = [set(cfg.train_sequences), set(cfg.val_sequences), set(cfg.test_sequences)]
    assert not (splits[0] & splits[1]) and not (splits[0] & splits[2]) and not (splits[1] & splits[2])
    root = shared_dir / "data" / "trajectories" / "pixel"
    for seq in cfg.test_sequences:
        tracks = load_sequence(root, seq)
        assert tracks, seq
        w = windows_from_tracks(tracks, cfg.model.obs_len, cfg.model.pred_len, cfg.model.step_s)
        assert np.all(np.isfinite(w.obs)) and np.all(w.scale >= 10)


@pytest.mark.parametrize(("seq", "fps"), [("kitti/0003", 10), ("pets2009/S3MF1", 7), ("tud/TUD-Campus", 25)])
def test_real_sequences_load_with_their_frame_rates(shared_dir, seq, fps):
    tracks = load_sequence(shared_dir / "data" / "trajectories" / "pixel", seq)
    steps = np.concatenate([np.diff(t.t) for t in tracks])
    assert np.isclose(steps.min(), 1 / fps)
    assert all(np.all(t.height > 0) for t in tracks)


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sequence must start with one of"):
        load_sequence(tmp_path, "mot17/02")


def test_windows_carry_the_nearest_other_tracks_at_their_last_observed_steps():
    t = np.arange(0, 3.0, 0.1)
    ego = PixelTrack("x/1", "a", t, np.stack([10 * t, 0 * t], 1), np.full(len(t), 50.0), "person")
    near = PixelTrack("x/1", "b", t, np.stack([10 * t, 0 * t + 20], 1), np.full(len(t), 50.0), "person")
    far = PixelTrack("x/1", "c", t, np.stack([0 * t, 0 * t + 500], 1), np.full(len(t), 50.0), "person")
    late = PixelTrack(
        "x/1", "d", t[15:], np.stack([10 * t[15:], 0 * t[15:] + 5], 1), np.full(15, 50.0), "person"
    )
    other_seq = PixelTrack("x/2", "e", t, np.stack([10 * t, 0 * t + 1], 1), np.full(len(t), 50.0), "person")
    w = windows_from_tracks(
        [ego, near, far, late, other_seq], obs_len=4, pred_len=6, step_s=0.2, neighbours=3
    )
    first = np.flatnonzero((w.sequence == "x/1") & (w.obs[:, -1, 1] == 0))[0]  # ego's first window
    nb = w.neighbours[first]
    last_t = 0.6  # obs at 0, 0.2, 0.4, 0.6 s
    np.testing.assert_allclose(nb[0], [[10 * (last_t - 0.2), 20], [10 * last_t, 20]])  # nearest first
    np.testing.assert_allclose(nb[1], [[0, 500], [0, 500]])
    assert np.isnan(nb[2]).all()  # "late" starts at 1.5 s: not there yet; "e" is another sequence
