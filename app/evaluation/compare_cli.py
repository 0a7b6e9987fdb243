"""``trackcast eval-mot compare``: the side-by-side table."""

from __future__ import annotations

import argparse
import sys

from app.evaluation.compare import MotSequence, detect_sequence, track_detections, ultralytics_track
from app.evaluation.mot import evaluate_mot, fill_gaps, load_mot, write_mot
from app.pipeline.detector import Detector
from app.pipeline.tracker import TrackerConfig

__all__ = ["run_compare"]

GAP_FILL_S = 2.0  # offline interpolation across gaps up to this long


def run_compare(args: argparse.Namespace, detector: Detector) -> None:
    """Score Trackcast (live and offline) and Ultralytics' ByteTrack / BoT-SORT on one sequence.

    Frames are scored whole, and split at the middle: the first half is where Trackcast's defaults
    were tuned, the second half is held out.
    """
    seq = MotSequence.open(args.sequence)
    if detector.classes is None:
        detector.classes = [0]  # MOTChallenge ground truth is pedestrians
    gt = load_mot(seq.gt, gt=True)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{seq.root.name}: {seq.length} frames at {seq.fps:g} fps; detector {detector.model_name} "
          f"conf {detector.conf} classes {detector.classes}", file=sys.stderr)  # fmt: skip
    dets = detect_sequence(detector, seq.video, seq.fps, args.out / "cache")
    runs: dict[str, object] = {}
    cfg = TrackerConfig()
    live = track_detections(dets, seq.fps, cfg)
    runs[f"trackcast {cfg.kind} (live)"] = live
    runs[f"trackcast {cfg.kind} + offline gap fill {GAP_FILL_S:g}s"] = fill_gaps(
        live, round(GAP_FILL_S * seq.fps)
    )[0]
    if not args.no_ultralytics:
        for name in ("bytetrack", "botsort"):
            runs[f"ultralytics model.track {name}.yaml"] = ultralytics_track(
                detector.model_name,
                seq.video,
                f"{name}.yaml",
                detector.conf,
                detector.classes,
                detector.imgsz,
            )
    half = seq.length // 2
    spans = {"all": range(1, seq.length + 1), f"1-{half}": range(1, half + 1),
             f"{half + 1}-{seq.length}": range(half + 1, seq.length + 1)}  # fmt: skip
    width = max(len(k) for k in runs)
    print(f"{'method':{width}s}  {'frames':9s}  metrics (percent)")
    for name, rows in runs.items():
        write_mot(args.out / (name.replace(" ", "_").replace("/", "-") + ".txt"), rows)  # type: ignore[arg-type]
        for span, frames in spans.items():
            print(f"{name:{width}s}  {span:9s}  {evaluate_mot(gt, rows, frames).row()}")  # type: ignore[arg-type]
