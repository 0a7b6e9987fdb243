"""The ETH/UCY harness reproduces the reference constant-velocity figures (Social-GAN windows)."""

import numpy as np
import pytest

from app.forecasting.baselines import (
    ade_fde,
    constant_acceleration_kf,
    constant_velocity,
    constant_velocity_mean,
)
from app.forecasting.eth_ucy import load_scene_split, windows_from_file

# Reference measured for the issue: CV (last displacement) ADE/FDE in metres.
REFERENCE = {"eth": (0.995, 2.234), "hotel": (0.323, 0.617), "zara1": (0.431, 0.960), "zara2": (0.326, 0.728)}


@pytest.mark.parametrize("scene", sorted(REFERENCE))
def test_constant_velocity_reproduces_reference(shared_dir, scene):
    w = load_scene_split(shared_dir / "data" / "trajectories" / "eth_ucy", scene, "test")
    ade, fde = ade_fde(constant_velocity(w.obs, 12), w.fut)
    assert (round(ade, 3), round(fde, 3)) == REFERENCE[scene]


def test_windows_keep_only_fully_present_pedestrians(tmp_path):
    rows = []
    for f in range(25):
        rows.append((f * 10, 1, f * 0.1, 0.0))  # present throughout
        rows.append((f * 10, 2, 5.0, f * 0.2))  # present throughout
        if f != 12:
            rows.append((f * 10, 3, 9.0, 9.0))  # missing at frame 120
    p = tmp_path / "t.txt"
    np.savetxt(p, np.array(rows), delimiter="\t")
    w = windows_from_file(p)
    assert len(w) == 2 * 6  # 6 windows of 20 in 25 frames, peds 1 and 2 only
    np.testing.assert_allclose(w.fut[0, 0] - w.obs[0, -1], [0.1, 0.0])


def test_baselines_are_exact_on_their_own_motion():
    t = np.arange(20.0)
    line = np.stack([t * 0.3, t * -0.1], 1)[None]
    parabola = np.stack([t, 0.05 * t * t], 1)[None]
    obs, fut = line[:, :8], line[:, 8:]
    assert ade_fde(constant_velocity(obs, 12), fut)[0] == pytest.approx(0, abs=1e-9)
    assert ade_fde(constant_velocity_mean(obs, 12, 4), fut)[0] == pytest.approx(0, abs=1e-9)
    err_ca = ade_fde(constant_acceleration_kf(parabola[:, :8], 12, q=0.01, r=0.001), parabola[:, 8:])[0]
    err_cv = ade_fde(constant_velocity(parabola[:, :8], 12), parabola[:, 8:])[0]
    assert err_ca < 0.2 * err_cv
    with pytest.raises(ValueError, match="k must be"):
        constant_velocity_mean(obs, 12, 8)


def test_batched_kalman_filter_equals_filterpy():
    from app.forecasting.baselines import constant_acceleration_kf_batch

    rng = np.random.default_rng(1)
    obs = rng.normal(size=(20, 8, 2)).cumsum(1)
    np.testing.assert_allclose(
        constant_acceleration_kf_batch(obs, 12, 0.1, 0.3),
        constant_acceleration_kf(obs, 12, 0.1, 0.3),
        atol=1e-9,
    )


def test_windows_carry_neighbours_from_the_observed_past_only(tmp_path):
    rows = []
    for f in range(20):
        rows.append((f * 10, 1, f * 0.1, 0.0))
        rows.append((f * 10, 2, 5.0, f * 0.2))
        if f in (6, 7):
            rows.append((f * 10, 3, 1.0 + f, 1.0))  # only around the last observed frame
        if f > 7:
            rows.append((f * 10, 4, 0.0, 0.0))  # appears in the future: must not be seen
    p = tmp_path / "t.txt"
    np.savetxt(p, np.array(rows), delimiter="\t")
    w = windows_from_file(p)
    assert len(w) == 2
    nb = w.neighbours[0]  # seen from ped 1 at (0.7, 0) in the last observed frame
    present = np.isfinite(nb).all(axis=(1, 2))
    assert present.sum() == 2  # peds 2 and 3, not 4
    got = {tuple(np.round(n[1], 3)) for n in nb[present]}
    assert got == {(5.0, 1.4), (8.0, 1.0)}
    np.testing.assert_allclose(nb[0], [[5.0, 1.2], [5.0, 1.4]])  # nearest first, frames 6 and 7
