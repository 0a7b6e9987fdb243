"""Request dependencies and the translation from API bodies to stream objects."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.api.schemas import StreamInfo, StreamOptionsIn, StreamStatsOut
from app.core.config import Settings
from app.pipeline.detector import resolve_classes
from app.streams.manager import StreamManager
from app.streams.session import StreamOptions, StreamSession
from app.streams.sources import ReconnectPolicy

__all__ = ["ManagerDep", "SettingsDep", "build_options", "reconnect_policy", "stream_info"]


def get_manager(request: Request) -> StreamManager:
    manager = getattr(request.app.state, "manager", None)
    if manager is None:
        raise HTTPException(503, "models are still loading")
    return manager


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


ManagerDep = Annotated[StreamManager, Depends(get_manager)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def build_options(
    opts: StreamOptionsIn, settings: Settings, names: dict[int, str], upload: bool
) -> StreamOptions:
    """API options + settings defaults -> :class:`StreamOptions` (ValueError names the bad option)."""
    classes = resolve_classes(opts.classes, names) if opts.classes else None
    horizon = opts.horizon_s or settings.horizon_s
    step = opts.forecast_step_s or min(settings.forecast_step_s, horizon)
    if step > horizon:
        raise ValueError(f"forecast_step_s ({step}) must be <= horizon_s ({horizon})")
    return StreamOptions(
        classes=tuple(classes) if classes is not None else None,
        conf=opts.conf if opts.conf is not None else 0.0,
        tracker=opts.tracker or settings.tracker,
        horizon_s=horizon,
        step_s=step,
        record=opts.record,
        annotate=opts.record and (upload if opts.annotate is None else opts.annotate),
        name=opts.name,
    )


def reconnect_policy(settings: Settings) -> ReconnectPolicy:
    return ReconnectPolicy(
        initial_s=settings.reconnect_initial_s,
        max_s=max(settings.reconnect_max_s, settings.reconnect_initial_s),
        max_attempts=settings.reconnect_attempts or None,
        timeout_s=settings.source_timeout_s,
    )


def stream_info(s: StreamSession, base: str = "/v1/streams") -> StreamInfo:
    st = s.stats
    o = s.options
    return StreamInfo(
        id=s.id,
        name=o.name,
        kind=s.source.kind,
        source=s.source.description,
        live=s.source.live,
        status=s.status,
        message=s.message,
        created_at=s.created_at,
        fps=s.source.fps,
        image_size=list(s.image_size) if s.image_size else None,
        options={"classes": list(o.classes) if o.classes else None, "conf": o.conf, "tracker": o.tracker,
                 "horizon_s": o.horizon_s, "forecast_step_s": o.step_s, "record": o.record,
                 "annotate": o.annotate, "realtime": s.source.live if s.source.kind == "file" else None},
        stats=StreamStatsOut(
            frames_read=st.frames_read, frames_processed=st.frames_processed,
            frames_dropped=st.frames_dropped,
            active_tracks=st.active_tracks, tracks_seen=st.tracks_seen, fps=round(st.fps, 2),
            latency_ms_p50=st.latency_ms_p50, latency_ms_p99=st.latency_ms_p99,
        ),
        results={k: f"{base}/{s.id}/results.{ext}" for k, ext in
                 (("jsonl", "jsonl"), ("mot", "txt"), ("mp4", "mp4")) if k in s.results},
        events_url=f"{base}/{s.id}/events",
    )  # fmt: skip
