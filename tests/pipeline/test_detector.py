import numpy as np
import pytest

from app.evaluation.mot import load_mot
from app.pipeline.detector import Detector, resolve_classes


@pytest.mark.parametrize(
    ("classes", "expected", "error"),
    [
        (None, None, None),
        (["person", "car"], [0, 2], None),
        ([2, "0"], [0, 2], None),
        (["Person"], [0], None),
        (["persn"], None, "unknown class name 'persn'"),
        ([80], None, "unknown class id 80"),
        ([], None, "empty list"),
    ],
)
def test_resolve_classes(classes, expected, error):
    if error:
        with pytest.raises(ValueError, match=error):
            resolve_classes(classes)
    else:
        assert resolve_classes(classes) == expected


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"conf": 1.5}, "conf"), ({"iou": 0}, "iou"), ({"imgsz": 100}, "imgsz")]
)
def test_detector_rejects_bad_arguments(shipped_model, kwargs, error):
    with pytest.raises(ValueError, match=error):
        Detector(shipped_model, **kwargs)


def test_detector_rejects_missing_model_path(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        Detector(str(tmp_path / "missing_openvino_model"))


def _iou(a, b):
    x1, y1 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x2, y2 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _frames_at(video, indices):
    import cv2

    cap = cv2.VideoCapture(str(video))
    out = []
    for i in indices:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, frame = cap.read()
        assert ok
        out.append((int(i), i / 7.0, frame))
    cap.release()
    return out


def test_detector_finds_people_in_pets(detector, pets_dir, pets_video):
    """Person recall at IoU 0.5 on 20 frames spread over the sequence (reference: 0.91 at conf 0.25)."""
    from scipy.optimize import linear_sum_assignment

    gt = load_mot(pets_dir / "gt" / "gt.txt", gt=True)
    sampled = _frames_at(pets_video, np.linspace(0, 794, 20).astype(int))
    results = detector.detect([f for _, _, f in sampled])  # one batched call
    tp = total = 0
    for (index, _, _), dets in zip(sampled, results):
        g = gt[gt[:, 0] == index + 1][:, 2:6].copy()
        g[:, 2:] += g[:, :2]
        keep = dets.confidence >= 0.25
        total += len(g)
        if len(g) and keep.any():
            iou = _iou(g, dets.xyxy[keep])
            r, c = linear_sum_assignment(-iou)
            tp += int((iou[r, c] >= 0.5).sum())
        assert set(dets.class_id.tolist()) <= {0}
    assert total > 100
    assert tp / total >= 0.85, f"recall {tp / total:.3f}"


def test_detector_batch_matches_single_calls(detector, pets_frames):
    frames = [f for _, _, f in pets_frames[:3]]
    batched = detector.detect(frames)
    for f, b in zip(frames, batched):
        (single,) = detector.detect([f])
        assert len(single) == len(b)
        np.testing.assert_allclose(single.xyxy, b.xyxy, atol=0.5)


def test_detector_rejects_non_image(detector):
    with pytest.raises(ValueError, match=r"frames\[0\]"):
        detector.detect([np.zeros((10, 10), np.uint8)])
