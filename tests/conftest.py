"""Shared fixtures: where ../shared is, the real detector, PETS09-S2L1 frames."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared assets folder (``TRACKCAST_SHARED_DIR``, default ``../shared`` beside the repo)."""
    path = Path(os.environ.get("TRACKCAST_SHARED_DIR", REPO.parent / "shared"))
    if not (path / "README.md").is_file():
        pytest.skip(f"shared assets not found at {path} (set TRACKCAST_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def pets_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "mot" / "PETS09-S2L1"


@pytest.fixture(scope="session")
def pets_video(pets_dir: Path) -> Path:
    return pets_dir / "PETS09-S2L1.avi"


@pytest.fixture(scope="session")
def shipped_model() -> str:
    return str(REPO / "models" / "detector" / "yolo11n_int8_openvino_model")


@pytest.fixture(scope="session")
def detector(shipped_model: str):
    """The shipped detector, persons only, conf 0.1 (the service default), loaded once."""
    from app.pipeline.detector import Detector

    return Detector(shipped_model, device="cpu", classes=["person"], conf=0.1)


@pytest.fixture(scope="session")
def pets_frames(pets_video: Path):
    """The first 60 frames of PETS09-S2L1 as (index, t, BGR frame), t at the real 7 fps."""
    from app.pipeline.video import VideoReader

    frames = []
    with VideoReader(pets_video) as reader:
        for item in reader:
            frames.append(item)
            if len(frames) == 60:
                break
    return frames
