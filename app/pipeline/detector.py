"""Ultralytics YOLO behind one typed, batched call.

We wrap ``ultralytics.YOLO`` rather than running models ourselves: it loads ``.pt``, OpenVINO export
folders, ONNX and TensorRT engines, does letterboxing and NMS, and auto-downloads release weights
(``yolo11n.pt``) where there is internet.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.pipeline.types import Detections

__all__ = ["COCO_NAMES", "Detector", "resolve_classes", "resolve_device"]

log = logging.getLogger(__name__)

# The 80 COCO class names, index = class id (what every Ultralytics COCO model reports).
COCO_NAMES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


def resolve_device(device: str) -> str:
    """Map ``"auto"`` to ``"cuda:0"`` when CUDA is usable, else ``"cpu"``; pass others through."""
    if device != "auto":
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def resolve_classes(
    classes: Sequence[int | str] | None, names: dict[int, str] | Sequence[str] = COCO_NAMES
) -> list[int] | None:
    """Turn class ids or names into sorted ids.

    Args:
        classes: ids (``0``), names (``"person"``), numeric strings (``"0"``), or None for all.
        names: the model's id -> name table.

    Returns:
        Sorted class ids, or None for every class.

    Raises:
        ValueError: a name or id the model does not know, naming it and listing what is allowed.
    """
    if classes is None:
        return None
    table = dict(enumerate(names)) if not isinstance(names, dict) else names
    by_name = {v.lower(): k for k, v in table.items()}
    ids: set[int] = set()
    for c in classes:
        if isinstance(c, str) and not c.strip().lstrip("-").isdigit():
            key = c.strip().lower()
            if key not in by_name:
                raise ValueError(
                    f"classes: unknown class name {c!r}; allowed names: {', '.join(sorted(by_name))}"
                )
            ids.add(by_name[key])
        else:
            i = int(c)
            if i not in table:
                raise ValueError(f"classes: unknown class id {i}; allowed ids 0..{max(table)}")
            ids.add(i)
    if not ids:
        raise ValueError("classes: empty list; pass None for every class")
    return sorted(ids)


class Detector:
    """A YOLO detector shared by every stream.

    Args:
        model: anything ``ultralytics.YOLO`` loads: a release name (``"yolo11n.pt"``, downloaded where
            there is internet), a ``.pt`` path, an OpenVINO export folder, an ``.onnx`` file.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda:0"``...
        classes: class ids or COCO names to keep, None for all.
        conf: minimum confidence in [0, 1]. Lower finds more objects (and more false ones); the
            tracker's own thresholds decide what starts a track.
        iou: NMS IoU threshold in (0, 1]. Lower merges more overlapping boxes (can fuse neighbours).
        imgsz: inference size in pixels (a multiple of 32). Larger finds smaller objects, costs time.
        half: FP16 inference (CUDA only; ignored with a warning on CPU).
        torch_threads: CPU threads for torch models (Ultralytics sets ``cpu_count - 1``); None keeps
            Ultralytics' choice.

    Raises:
        ValueError: a bad argument, or a model path that does not exist / cannot be loaded.
    """

    def __init__(
        self,
        model: str | Path,
        device: str = "auto",
        classes: Sequence[int | str] | None = None,
        conf: float = 0.25,
        iou: float = 0.7,
        imgsz: int = 640,
        half: bool = False,
        torch_threads: int | None = None,
    ) -> None:
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"conf must be in [0, 1], got {conf!r}")
        if not 0.0 < iou <= 1.0:
            raise ValueError(f"iou must be in (0, 1], got {iou!r}")
        if imgsz <= 0 or imgsz % 32:
            raise ValueError(f"imgsz must be a positive multiple of 32, got {imgsz!r}")
        self.model_name = str(model)
        self.device = resolve_device(device)
        self.half = bool(half) and self.device.startswith("cuda")
        if half and not self.half:
            log.warning("half=True needs CUDA; running FP32 on %s", self.device)
        self.conf = float(conf)
        self.iou = float(iou)
        self.imgsz = int(imgsz)
        self._torch_threads = torch_threads
        self._model = self._load(self.model_name)
        self.names: dict[int, str] = dict(self._model.names)
        self.classes = resolve_classes(classes, self.names)
        self._warm = False

    @staticmethod
    def _load(model: str):
        from ultralytics import YOLO

        path = Path(model)
        looks_like_path = os.sep in model or path.suffix == "" or path.exists()
        if looks_like_path and not path.exists():
            raise ValueError(f"model: no such file or folder {model!r}")
        try:
            return YOLO(model, task="detect")
        except Exception as exc:  # Ultralytics raises many types for unreadable models
            raise ValueError(f"model: cannot load {model!r}: {exc}") from exc

    @property
    def is_openvino(self) -> bool:
        return self.model_name.rstrip("/").endswith("_openvino_model")

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detect objects in a batch of frames (possibly from different streams) in one call.

        Args:
            frames: BGR uint8 images, each (H, W, 3); sizes may differ.

        Returns:
            One :class:`Detections` per frame, boxes in that frame's pixels.
        """
        if len(frames) == 0:
            return []
        for i, f in enumerate(frames):
            if not isinstance(f, np.ndarray) or f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                shape = getattr(f, "shape", None)
                raise ValueError(f"frames[{i}] must be a (H, W, 3) uint8 BGR image, got {shape}")
        results = self._model.predict(
            list(frames),
            conf=self.conf,
            iou=self.iou,
            imgsz=self.imgsz,
            classes=self.classes,
            device=self.device,
            verbose=False,
            **({"quantize": 16} if self.half else {}),  # 8.4 replaced `half=True` by `quantize=16`
        )
        if not self._warm:
            self._warm = True
            if self._torch_threads:
                import torch

                torch.set_num_threads(self._torch_threads)
        return [Detections.from_ultralytics(r) for r in results]
