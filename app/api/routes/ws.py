"""Websockets: events out (one stream or all), frames in (push streams)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.streams.channel import ChannelClosed
from app.streams.hub import Subscriber
from app.streams.manager import StreamManager, StreamNotFound
from app.streams.session import StreamSession
from app.streams.sources import PushSource

router = APIRouter(tags=["events"])

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


async def _pump(ws: WebSocket, sub: Subscriber) -> None:
    """Send the subscriber's messages until the hub closes it or the client goes away."""

    async def send() -> None:
        while (msg := await sub.next()) is not None:
            await ws.send_text(msg)
        reason = (sub.close_reason or "")[:120]
        await ws.close(1001 if "shutting down" in reason else 1000, reason)

    async def receive() -> None:  # notices the client leaving; client messages are ignored
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await ws.receive_text()

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await t


def _manager(ws: WebSocket) -> StreamManager | None:
    return getattr(ws.app.state, "manager", None)


async def _accept_stream(ws: WebSocket, stream_id: str) -> tuple[StreamManager, StreamSession] | None:
    """Accept the socket; the stream, or None after closing with 4404 if there is no such stream."""
    await ws.accept()
    manager = _manager(ws)
    try:
        if manager is None:
            raise StreamNotFound(stream_id)
        return manager, manager.get(stream_id)
    except StreamNotFound:
        await ws.close(CLOSE_NOT_FOUND, f"stream {stream_id} not found")
        return None


@router.websocket("/v1/streams/{stream_id}/events")
async def stream_events(ws: WebSocket, stream_id: str, frames: bool = False) -> None:
    """Events of one stream: its current ``status`` first, then ``frame``, ``track``, ``status`` and
    ``dropped`` messages (see the README). ``?frames=true`` embeds each frame as base64 JPEG.
    Closes with 1000 after the stream's final status, 1001 on server shutdown, 4404 if unknown."""
    found = await _accept_stream(ws, stream_id)
    if found is None:
        return
    manager, session = found
    with manager.subscription(stream_id, frames) as sub, contextlib.suppress(WebSocketDisconnect):
        await ws.send_text(session.status_message().model_dump_json())
        if session.status.final:
            await ws.close(1000, session.message[:120])
            return
        await _pump(ws, sub)


@router.websocket("/v1/events")
async def all_events(ws: WebSocket, frames: bool = False) -> None:
    """Events of every stream (each message carries ``stream_id``); stays open until shutdown."""
    await ws.accept()
    manager = _manager(ws)
    if manager is None:
        await ws.close(1013, "models are still loading")
        return
    with manager.subscription(None, frames) as sub, contextlib.suppress(WebSocketDisconnect):
        for s in manager.active:
            await ws.send_text(s.status_message().model_dump_json())
        await _pump(ws, sub)


@router.websocket("/v1/streams/{stream_id}/frames")
async def push_frames(ws: WebSocket, stream_id: str) -> None:
    """Push frames over a websocket: each binary message is one JPEG/PNG image. A text message
    ``{"timestamp_s": t}`` sets the timestamp of the next image (default: arrival time). Each image
    is answered with ``{"type": "ack", "frame_index": i}`` or ``{"type": "error", "message": ...}``."""
    found = await _accept_stream(ws, stream_id)
    if found is None:
        return
    session = found[1]
    source = session.source
    if not isinstance(source, PushSource):
        await ws.close(CLOSE_BAD_REQUEST, f"stream {stream_id} is not a push stream")
        return
    ts: float | None = None
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                try:
                    ts = float(json.loads(msg["text"])["timestamp_s"])
                except (ValueError, KeyError, TypeError):
                    await ws.send_json(
                        {"type": "error", "message": 'text messages must be {"timestamp_s": <float>}'}
                    )
                continue
            try:
                index = await asyncio.to_thread(source.push, msg.get("bytes") or b"", ts)
                await ws.send_json({"type": "ack", "frame_index": index, "queued": session.queue_depth})
            except ValueError as exc:
                await ws.send_json({"type": "error", "message": str(exc)})
            except ChannelClosed:
                await ws.close(1000, f"stream {stream_id} is {session.status.value}")
                return
            ts = None
    except WebSocketDisconnect:
        return
