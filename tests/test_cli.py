"""The ``trackcast`` command, run as a real subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def truncated_video(pets_video, tmp_path_factory):
    """The PETS AVI cut to its first 4% of bytes (about 30 frames decode, 795 announced)."""
    data = pets_video.read_bytes()
    path = tmp_path_factory.mktemp("bad") / "truncated.avi"
    path.write_bytes(data[: len(data) // 25])
    return path


def test_track_missing_file_fails_clearly(tmp_path):
    r = run_cli("track", tmp_path / "nope.mp4")
    assert r.returncode == 2
    assert "no such file or folder" in r.stderr and "Traceback" not in r.stderr


def test_track_non_video_file_fails_clearly(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video")
    r = run_cli("track", p)
    assert r.returncode == 2
    assert "not a readable video file" in r.stderr and "Traceback" not in r.stderr


def test_track_unknown_class_fails_clearly(pets_video):
    r = run_cli("track", pets_video, "--classes", "persn")
    assert r.returncode == 2
    assert "unknown class name 'persn'" in r.stderr


def test_track_unreadable_model_fails_clearly(pets_video, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    r = run_cli("track", pets_video, "--model", bad)
    assert r.returncode == 2
    assert "model: cannot load" in r.stderr and "Traceback" not in r.stderr


def test_track_truncated_video_fails_but_keeps_results(truncated_video, tmp_path):
    jsonl, mot = tmp_path / "out.jsonl", tmp_path / "out.txt"
    r = run_cli(
        "track", truncated_video, "--fps", 7, "--classes", "person", "--jsonl", jsonl, "--mot", mot, "-q"
    )
    assert r.returncode == 2
    assert "video ended early" in r.stderr and "written" in r.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert 10 <= len(records) < 795
    assert [rec["frame_index"] for rec in records] == list(range(len(records)))
    assert any(rec["tracks"] for rec in records) and mot.stat().st_size > 0


def test_track_writes_jsonl_mot_and_annotated_video(pets_frames, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, _, frame in pets_frames[:25]:
        cv2.imwrite(str(folder / f"{i:06d}.jpg"), frame)
    jsonl, mot, mp4 = tmp_path / "o.jsonl", tmp_path / "o.txt", tmp_path / "o.mp4"
    r = run_cli("track", folder, "--fps", 7, "--classes", "person", "--jsonl", jsonl, "--mot", mot,
                "--annotate", mp4, "--fill-gaps", 1, "-q")  # fmt: skip
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == 25
    assert records[10]["timestamp_s"] == pytest.approx(10 / 7, abs=1e-3)
    tracked = [t for rec in records for t in rec["tracks"]]
    assert tracked and all(t["class_name"] == "person" and len(t["xyxy"]) == 4 for t in tracked)
    assert any(t["forecast"] and t["forecast"]["points"][0]["dt_s"] > 0 for t in tracked)
    assert "offline gap filling" in r.stderr
    cap = cv2.VideoCapture(str(mp4))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 25
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == pets_frames[0][2].shape[:2]
    assert len(mot.read_text().splitlines()) >= len(tracked)


def test_eval_mot_scores_ground_truth_perfectly(pets_dir):
    gt = pets_dir / "gt" / "gt.txt"
    r = run_cli("eval-mot", "score", gt, gt)
    assert r.returncode == 0, r.stderr
    assert "HOTA 100.0" in r.stdout and "IDF1 100.0" in r.stdout


def test_eval_mot_rejects_non_mot_file(tmp_path, pets_dir):
    bad = tmp_path / "bad.txt"
    bad.write_text("hello world\n")
    r = run_cli("eval-mot", "score", bad, pets_dir / "gt" / "gt.txt")
    assert r.returncode == 2 and "not a MOTChallenge txt file" in r.stderr
