"""Settings: the one place configuration enters (env vars ``TRACKCAST_*``, or a ``.env`` file).

Config flows one way: ``Settings`` -> app start-up / CLI -> explicit constructor arguments.
Components never read the environment themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["REPO_ROOT", "Settings", "default_detector_model", "get_settings"]

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"


def default_detector_model(device: str) -> str:
    """The detector shipped in ``models/detector/``: OpenVINO INT8 on CPU, the ``.pt`` on CUDA."""
    if device.startswith("cuda"):
        return str(MODELS_DIR / "detector" / "yolo11n.pt")
    return str(MODELS_DIR / "detector" / "yolo11n_int8_openvino_model")


class Settings(BaseSettings):
    """Service and CLI settings. Every field is an env var ``TRACKCAST_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="TRACKCAST_", env_file=".env", extra="ignore")

    # --- detector -------------------------------------------------------------------------------
    model: str = Field(
        "auto",
        description="Detector: 'auto' (shipped model for the device), a path, or a release name such as "
        "'yolo11n.pt' (auto-downloaded where there is internet).",
    )
    device: str = Field("auto", description="'auto' (CUDA if available, else CPU), 'cpu', 'cuda:0'.")
    half: bool = Field(True, description="FP16 on CUDA (ignored on CPU).")
    imgsz: int = Field(640, description="Detector input size, pixels (multiple of 32).")
    conf: float = Field(0.1, ge=0, le=1, description="Detector score floor; streams may ask for higher.")
    iou: float = Field(0.7, gt=0, le=1, description="NMS IoU threshold.")
    torch_threads: int | None = Field(None, ge=1, description="CPU threads for torch models.")

    # --- tracking and forecasting ---------------------------------------------------------------
    tracker: Literal["bytetrack", "botsort", "ocsort"] = Field(
        "botsort", description="Association: botsort (default, tuned), bytetrack or ocsort."
    )
    forecaster: str = Field(
        "auto",
        description="'auto' (models/forecaster/lstm.pt if present, else constant velocity), "
        "'constant_velocity', or a checkpoint path.",
    )
    horizon_s: float = Field(4.8, gt=0, le=30, description="Default forecast horizon, seconds.")
    forecast_step_s: float = Field(0.4, gt=0, description="Spacing of forecast points, seconds.")

    # --- server ---------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_streams: int = Field(8, ge=1, description="More concurrent streams are refused with 429.")
    max_upload_mb: float = Field(500, gt=0, description="Larger uploads are refused with 413.")
    max_batch: int = Field(
        0,
        ge=0,
        description="Most frames (from different streams) per detector call; 0 = auto: 8 on CUDA, "
        "1 on CPU (the OpenVINO export runs one image at a time, so batching only adds latency there).",
    )
    subscriber_queue: int = Field(256, ge=1, description="Per-subscriber queue; oldest dropped when full.")
    live_buffer: int = Field(
        2, ge=1, description="Frames buffered per live stream; older ones are dropped so latency stays low."
    )
    reconnect_initial_s: float = Field(0.5, gt=0, description="First wait before reconnecting, seconds.")
    reconnect_max_s: float = Field(10.0, gt=0, description="Longest wait between reconnections, seconds.")
    reconnect_attempts: int = Field(
        10,
        ge=0,
        description="Failed reconnections in a row before a live stream ends with an error "
        "(0: retry forever).",
    )
    ws_ping_interval_s: float = Field(
        20.0,
        ge=0,
        description="Websocket keepalive ping interval, seconds (0: no pings). A client that "
        "does not answer within ws_ping_timeout_s is disconnected.",
    )
    ws_ping_timeout_s: float = Field(20.0, gt=0, description="Websocket keepalive timeout, seconds.")
    source_timeout_s: float = Field(5.0, gt=0, description="Open/read timeout of a live source, seconds.")
    data_dir: Path = Field(REPO_ROOT / "runs", description="Where uploads and results are kept.")
    log_level: str = "INFO"
    log_json: bool = Field(True, description="Structured (JSON) logs.")

    @field_validator("imgsz")
    @classmethod
    def _imgsz_multiple_of_32(cls, v: int) -> int:
        if v <= 0 or v % 32:
            raise ValueError(f"imgsz must be a positive multiple of 32, got {v}")
        return v

    @model_validator(mode="after")
    def _step_within_horizon(self) -> Settings:
        if self.forecast_step_s > self.horizon_s:
            raise ValueError(
                f"forecast_step_s ({self.forecast_step_s}) must be <= horizon_s ({self.horizon_s})"
            )
        return self

    def resolved_max_batch(self, device: str) -> int:
        """``max_batch`` after 'auto' (0) is resolved for ``device``."""
        return self.max_batch or (8 if device.startswith("cuda") else 1)

    def resolved_model(self, device: str) -> str:
        """The detector to load on ``device`` (after 'auto' is resolved)."""
        return default_detector_model(device) if self.model == "auto" else self.model


def get_settings() -> Settings:
    """Read settings from the environment (call once at start-up)."""
    return Settings()
