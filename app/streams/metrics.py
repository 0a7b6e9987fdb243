"""Prometheus metrics, in a registry owned by the app instance (no module-level collectors)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every metric the service exports at ``/metrics``."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.frames = Counter("trackcast_frames_processed", "Frames processed", ["stream"], registry=r)
        self.dropped = Counter(
            "trackcast_frames_dropped", "Frames dropped before processing (stale live frames)", ["stream"],
            registry=r,
        )  # fmt: skip
        self.stage = Histogram(
            "trackcast_stage_seconds", "Per-stage latency (detect includes waiting for the batch)",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "trackcast_frame_latency_seconds", "Frame received -> events published", ["stream"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "trackcast_detector_batch_size", "Frames per detector call", buckets=(1, 2, 3, 4, 6, 8, 16),
            registry=r,
        )  # fmt: skip
        self.fps = Gauge("trackcast_stream_fps", "Processed frames per second", ["stream"], registry=r)
        self.queue = Gauge("trackcast_queue_depth", "Frames waiting", ["queue"], registry=r)
        self.streams = Gauge("trackcast_streams", "Streams by status", ["status"], registry=r)
        self.subscribers = Gauge("trackcast_subscribers", "Connected websocket subscribers", registry=r)
        self.events_dropped = Counter(
            "trackcast_subscriber_messages_dropped", "Messages dropped for slow subscribers", registry=r
        )

    def forget_stream(self, stream_id: str) -> None:
        for m in (self.frames, self.dropped, self.latency, self.fps):
            with contextlib.suppress(KeyError):
                m.remove(stream_id)

    def render(self) -> bytes:
        return generate_latest(self.registry)
