import numpy as np
import pytest

from app.evaluation.compare import ultralytics_track
from app.evaluation.mot import evaluate_mot
from app.pipeline.forecasting import ConstantVelocityForecaster
from app.pipeline.pipeline import ForecastConfig, StreamPipeline, forecast_offsets
from app.pipeline.types import TrackEvent, xyxy_to_tlwh
from app.pipeline.video import VideoReader


def test_forecast_offsets_cover_horizon():
    np.testing.assert_allclose(forecast_offsets(2.0, 0.5), [0.5, 1.0, 1.5, 2.0])
    with pytest.raises(ValueError, match="horizon_s"):
        ForecastConfig(horizon_s=0)


def test_pipeline_tracks_and_forecasts_people(detector, pets_frames):
    sp = StreamPipeline(
        ConstantVelocityForecaster(), fps=7, forecast=ForecastConfig(horizon_s=2.0, step_s=0.5)
    )
    results = [sp.process(detector, f, i, t) for i, t, f in pets_frames[:30]]
    last = results[-1]
    assert len(last.tracks) >= 3
    with_forecast = [t for t in last.tracks if t.forecast is not None]
    assert with_forecast, "established tracks must carry forecasts"
    np.testing.assert_allclose(with_forecast[0].forecast.offsets_s, [0.5, 1.0, 1.5, 2.0])
    appeared = {tid for r in results for tid, ev in r.events if ev is TrackEvent.APPEARED}
    assert {t.track_id for t in last.tracks} <= appeared
    assert last.timestamp_s == pytest.approx(29 / 7)


def test_two_stream_pipelines_do_not_share_state(detector, pets_frames):
    a = StreamPipeline(None, fps=7)
    b = StreamPipeline(None, fps=7)
    for i, t, f in pets_frames[:10]:
        ra = a.process(detector, f, i, t)
    rb = b.process(detector, pets_frames[0][2], 0, 0.0)
    rb = b.process(detector, pets_frames[1][2], 1, 1 / 7)
    assert min(t.track_id for t in rb.tracks) == 1
    assert len(a.histories) >= len(ra.tracks) and len(b.histories) == len(rb.tracks)


@pytest.mark.slow
def test_pipeline_on_pets_reaches_mot_floors_and_beats_ultralytics(
    detector, shipped_model, pets_dir, pets_video
):
    """Full sequence, live (no gap filling), against Ultralytics' ``model.track`` (BoT-SORT, its
    default) with the same model file and conf.

    The INT8 detector's outputs depend slightly on the CPU's instruction set, and tracking amplifies
    that: measured HOTA / MOTA / IDF1 60.7 / 84.0 / 78.4 (Ultralytics 59.5) on one CI machine and
    58.5 / 83.7 / 74.8 (Ultralytics 56.4) on another. Hence floors below both, and the comparison
    with Ultralytics on the same machine as the check that holds everywhere.
    """
    sp = StreamPipeline(None, fps=7)
    rows = []
    with VideoReader(pets_video) as reader:
        assert reader.info.fps == 7 and reader.info.fps_source == "seqinfo.ini"
        for i, t, frame in reader:
            for tr in sp.process(detector, frame, i, t).tracks:
                rows.append([i + 1, tr.track_id, *xyxy_to_tlwh(tr.xyxy[None])[0], tr.confidence])
    gt = pets_dir / "gt" / "gt.txt"
    s = evaluate_mot(gt, np.array(rows))
    theirs = evaluate_mot(gt, ultralytics_track(shipped_model, pets_video, "botsort.yaml", 0.1, [0]))
    assert s.hota > theirs.hota and s.idf1 > theirs.idf1, (s, theirs)
    assert s.mota >= 82.0, s
    assert s.idf1 >= 74.0, s
    assert s.hota >= 57.5, s
