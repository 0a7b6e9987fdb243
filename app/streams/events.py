"""Websocket messages: versioned, typed by a ``type`` field (pydantic), one JSON object per message.

Every message has ``version`` (currently 1) and ``type``:

- ``frame``: one processed frame: tracks with boxes (pixels, xyxy) and forecasts (pixels, seconds).
- ``track``: a track lifecycle transition (``appeared``, ``lost``, ``ended``).
- ``status``: the stream's state changed (``starting``, ``running``, ``reconnecting``, ``ended``,
  ``stopped``, ``error``), with a human-readable ``message``.
- ``dropped``: this subscriber was too slow and ``count`` messages were dropped for it (oldest first).

The ``frame`` body (minus ``type``/``version``/``stream_id``/``latency_ms``/``image_jpeg_b64``) is the
same as a line of the JSON Lines results and of ``trackcast track --jsonl``.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

__all__ = [
    "EVENT_VERSION",
    "DroppedMessage",
    "Event",
    "ForecastOut",
    "ForecastPoint",
    "FrameMessage",
    "StatusMessage",
    "StreamStatus",
    "TrackMessage",
    "TrackOut",
    "event_adapter",
]

EVENT_VERSION = 1


class StreamStatus(str, Enum):
    """Lifecycle of a stream. ``ended``, ``stopped`` and ``error`` are final."""

    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    STOPPED = "stopped"
    ERROR = "error"

    @property
    def final(self) -> bool:
        return self in (StreamStatus.ENDED, StreamStatus.STOPPED, StreamStatus.ERROR)


class ForecastPoint(BaseModel):
    """One future position: ``dt_s`` seconds after the frame, box centre in pixels, 1-sigma in pixels."""

    dt_s: float
    x: float
    y: float
    sigma_x: float
    sigma_y: float


class ForecastOut(BaseModel):
    """A track's forecast. ``method`` says what produced it (``lstm``, ``constant_velocity``,
    ``constant_velocity_fallback`` for histories too short for the LSTM, ``static_fallback``)."""

    method: str
    points: list[ForecastPoint]


class TrackOut(BaseModel):
    """One active track in a frame."""

    id: int = Field(description="Track id, unique within the stream, from 1.")
    class_id: int
    class_name: str
    confidence: float
    xyxy: list[float] = Field(description="Box [x1, y1, x2, y2] in pixels of the source frame.")
    state: Literal["new", "tracked"]
    age_s: float = Field(description="Seconds since the track was first seen.")
    forecast: ForecastOut | None = None


class LifecycleOut(BaseModel):
    track_id: int
    event: Literal["appeared", "lost", "ended"]


class FrameMessage(BaseModel):
    """One processed frame."""

    version: int = EVENT_VERSION
    type: Literal["frame"] = "frame"
    stream_id: str
    frame_index: int = Field(description="0-based index of the frame as read from the source.")
    timestamp_s: float = Field(description="Frame time, seconds from the stream start.")
    image_size: list[int] = Field(description="[width, height] in pixels.")
    num_detections: int
    tracks: list[TrackOut]
    events: list[LifecycleOut] = Field(default_factory=list)
    latency_ms: float = Field(description="Frame received by the server -> this message published.")
    image_jpeg_b64: str | None = Field(
        None, description="The frame as base64 JPEG, only for subscribers that asked (?frames=true)."
    )


class TrackMessage(BaseModel):
    """A track lifecycle transition (also listed in the frame message's ``events``)."""

    version: int = EVENT_VERSION
    type: Literal["track"] = "track"
    stream_id: str
    frame_index: int
    timestamp_s: float
    track_id: int
    event: Literal["appeared", "lost", "ended"]


class StatusMessage(BaseModel):
    """The stream's state changed."""

    version: int = EVENT_VERSION
    type: Literal["status"] = "status"
    stream_id: str
    status: StreamStatus
    message: str = ""
    attempt: int | None = Field(None, description="Reconnection attempt (status 'reconnecting').")
    retry_in_s: float | None = Field(None, description="Seconds until the next reconnection attempt.")


class DroppedMessage(BaseModel):
    """Messages dropped for this subscriber because it read too slowly (oldest dropped first)."""

    version: int = EVENT_VERSION
    type: Literal["dropped"] = "dropped"
    count: int = Field(description="Dropped since the previous 'dropped' message.")
    total: int = Field(description="Dropped since this subscriber connected.")


Event = Annotated[FrameMessage | TrackMessage | StatusMessage | DroppedMessage, Field(discriminator="type")]
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)
