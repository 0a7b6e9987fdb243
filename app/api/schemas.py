"""REST request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.streams.events import FrameMessage, StreamStatus

__all__ = ["CreateStream", "PushAck", "StreamInfo", "StreamOptionsIn", "StreamStatsOut", "TracksSnapshot"]


class StreamOptionsIn(BaseModel):
    """Per-stream options (all optional; defaults come from the server's settings)."""

    model_config = ConfigDict(extra="forbid")

    classes: list[str | int] | None = Field(
        None, description="COCO class names or ids to keep, e.g. ['person', 'car']; default all."
    )
    conf: float | None = Field(None, ge=0, le=1, description="Minimum detection score kept.")
    tracker: Literal["botsort", "bytetrack", "ocsort"] | None = None
    horizon_s: float | None = Field(None, gt=0, le=30, description="Forecast horizon, seconds.")
    forecast_step_s: float | None = Field(None, gt=0, description="Spacing of forecast points, seconds.")
    fps: float | None = Field(None, gt=0, le=1000, description="Frame-rate override, frames per second.")
    realtime: bool = Field(
        False, description="Uploads: pace frames at their timestamps like a camera (stale frames "
        "dropped) instead of processing every frame at full speed."
    )  # fmt: skip
    annotate: bool | None = Field(
        None, description="Write an annotated MP4 (default: yes for uploads, no for live sources)."
    )
    record: bool = Field(True, description="Keep results as JSON Lines and MOTChallenge txt.")
    name: str | None = Field(None, max_length=200)


class CreateStream(BaseModel):
    """A live source by URL, or a stream the client pushes frames into. (Files: multipart upload.)"""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None, description="rtsp://, rtmp://, http(s):// (video file, MJPEG, HLS), udp://, tcp://, srt://",
        max_length=4096,
    )  # fmt: skip
    push: bool = Field(False, description="Frames will be pushed to /v1/streams/{id}/frames.")
    options: StreamOptionsIn = Field(default_factory=StreamOptionsIn)

    @model_validator(mode="after")
    def _one_source(self) -> CreateStream:
        if (self.url is None) == (not self.push):
            raise ValueError("give exactly one source: 'url' or 'push': true")
        return self


class StreamStatsOut(BaseModel):
    frames_read: int = Field(description="Frames decoded from the source (or pushed).")
    frames_processed: int
    frames_dropped: int = Field(description="Stale frames dropped to stay live.")
    active_tracks: int
    tracks_seen: int
    fps: float = Field(description="Processed frames per second, recent.")
    latency_ms_p50: float | None = Field(description="Frame received -> events published, recent median.")
    latency_ms_p99: float | None


class StreamInfo(BaseModel):
    id: str
    name: str | None
    kind: Literal["file", "url", "push"]
    source: str
    live: bool
    status: StreamStatus
    message: str
    created_at: float = Field(description="Unix time, seconds.")
    fps: float = Field(description="Source frame rate used for timestamps and tracker buffers.")
    image_size: list[int] | None = Field(description="[width, height], pixels, once known.")
    options: dict[str, object]
    stats: StreamStatsOut
    results: dict[str, str] = Field(description="Download URLs of the result files.")
    events_url: str


class TracksSnapshot(BaseModel):
    stream_id: str
    status: StreamStatus
    frame: FrameMessage | None = Field(description="The latest processed frame (None before the first).")


class PushAck(BaseModel):
    stream_id: str
    frame_index: int
    queued: int = Field(description="Frames waiting in the stream's buffer.")
    dropped: int = Field(description="Frames dropped so far because the pipeline fell behind.")
