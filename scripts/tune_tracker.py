"""Grid-search Trackcast's association settings on frames 1-397 of a MOT sequence (cached detections).

Usage: .venv/bin/python scripts/tune_tracker.py ../shared/data/mot/PETS09-S2L1 [--model PATH] [--conf 0.1]
Prints the best settings by HOTA on the tuning half, and their scores on the held-out half 398-795.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from app.evaluation.compare import MotSequence, detect_sequence, track_detections
from app.evaluation.mot import evaluate_mot, fill_gaps, load_mot
from app.pipeline.detector import Detector
from app.pipeline.tracker import TrackerConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("seq")
    ap.add_argument("--model", default="models/detector/yolo11n_int8_openvino_model")
    ap.add_argument("--conf", type=float, default=0.1)
    ap.add_argument("--kinds", default="bytetrack,botsort,ocsort")
    args = ap.parse_args()
    seq = MotSequence.open(args.seq)
    det = Detector(args.model, classes=[0], conf=args.conf)
    dets = detect_sequence(det, seq.video, seq.fps, Path("runs/cache"))
    gt = load_mot(seq.gt, gt=True)
    half = len(dets) // 2  # frames 1..397 tune, 398..795 held out
    tune, hold = range(1, half + 1), range(half + 1, len(dets) + 1)
    grid = {
        "high_thresh": [0.25, 0.35, 0.45],
        "new_track_thresh": [0.3, 0.45, 0.6],
        "match_thresh": [0.8, 0.9, 0.95],
        "buffer_s": [2.0, 5.0, 10.0],
    }
    results = []
    for kind in args.kinds.split(","):
        for values in itertools.product(*grid.values()):
            kw = dict(zip(grid, values))
            if kw["new_track_thresh"] < kw["high_thresh"]:
                continue
            cfg = TrackerConfig(kind=kind, **kw)
            rows = track_detections(dets[:half], seq.fps, cfg)
            s = evaluate_mot(gt, rows, tune)
            results.append((s.hota, s.idf1, kind, kw))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    for hota, idf1, kind, kw in results[:8]:
        cfg = TrackerConfig(kind=kind, **kw)
        rows = track_detections(dets, seq.fps, cfg)
        filled, _ = fill_gaps(rows, int(round(2.0 * seq.fps)))
        print(
            f"{kind:9s} {kw}  tune HOTA {hota:.1f} IDF1 {idf1:.1f} | "
            f"held-out {evaluate_mot(gt, rows, hold).row()}"
            f" | all {evaluate_mot(gt, rows).row()} | all+fill {evaluate_mot(gt, filled).row()}"
        )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
