"""Stream REST routes: create (URL, push, or multipart upload), list, inspect, stop, delete, download."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.api.deps import ManagerDep, SettingsDep, build_options, reconnect_policy, stream_info
from app.api.schemas import CreateStream, PushAck, StreamInfo, StreamOptionsIn, TracksSnapshot
from app.pipeline.video import VideoError
from app.streams.channel import ChannelClosed
from app.streams.sources import FileSource, PushSource, UrlSource

router = APIRouter(prefix="/v1/streams", tags=["streams"])

_CREATE_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CreateStream"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a video file"},
                        "options": {"type": "string", "description": "StreamOptionsIn as a JSON string"},
                    },
                }
            },
        },
        "required": True,
    }
}

_CHUNK = 1 << 20


def _unprocessable(msg: str) -> HTTPException:
    return HTTPException(422, msg)


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


@router.post("", status_code=201, response_model=StreamInfo, openapi_extra=_CREATE_DOC)
async def create_stream(request: Request, manager: ManagerDep, settings: SettingsDep) -> StreamInfo:
    """Start a stream: JSON ``{"url": ...}`` or ``{"push": true}``, or a multipart upload with a
    ``file`` field (and an optional ``options`` JSON field). Processing starts at once."""
    manager.check_capacity()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        return await _create_upload(request, manager, settings)
    if ctype not in ("application/json", ""):
        raise HTTPException(
            415, f"send application/json (url or push) or multipart/form-data (file), not {ctype}"
        )
    try:
        body = CreateStream.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _unprocessable(_validation_message(exc)) from exc
    try:
        opts = build_options(body.options, settings, manager.detector.names, upload=False)
        if body.url is not None:
            source: UrlSource | PushSource = UrlSource(body.url, body.options.fps, reconnect_policy(settings))
        else:
            source = PushSource(body.options.fps)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from exc
    return stream_info(manager.create(source, opts))


async def _create_upload(request: Request, manager: ManagerDep, settings: SettingsDep) -> StreamInfo:
    limit = int(settings.max_upload_mb * 1024 * 1024)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + 64 * 1024:
        raise HTTPException(
            413, f"upload is {int(length)} bytes; the limit is {limit} (TRACKCAST_MAX_UPLOAD_MB)"
        )
    form = await request.form(max_files=1, max_fields=4)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _unprocessable("multipart field 'file' (the video) is required")
        raw = form.get("options") or "{}"
        try:
            opts_in = StreamOptionsIn.model_validate_json(raw if isinstance(raw, str) else "{}")
        except ValidationError as exc:
            raise _unprocessable("options: " + _validation_message(exc)) from exc
        suffix = Path(upload.filename or "").suffix.lower()[:10]
        path = manager.uploads_dir / f"{uuid.uuid4().hex}{suffix}"
        size = await asyncio.to_thread(_save, upload, path, limit)
        if size is None:
            raise HTTPException(413, f"upload exceeds the limit of {limit} bytes (TRACKCAST_MAX_UPLOAD_MB)")
    finally:
        await form.close()
    try:
        opts = build_options(opts_in, settings, manager.detector.names, upload=True)
        source = await asyncio.to_thread(FileSource, path, opts_in.fps, opts_in.realtime)
    except VideoError as exc:
        path.unlink(missing_ok=True)
        raise HTTPException(
            415, f"{upload.filename}: {exc}".replace(str(path), upload.filename or "upload")
        ) from exc
    except ValueError as exc:
        path.unlink(missing_ok=True)
        raise _unprocessable(str(exc)) from exc
    source.description = upload.filename or path.name
    return stream_info(manager.create(source, opts))


def _save(upload: UploadFile, path: Path, limit: int) -> int | None:
    """Copy the upload to ``path``; None (and nothing kept) if it is larger than ``limit`` bytes."""
    size = 0
    upload.file.seek(0)
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit:
        path.unlink(missing_ok=True)
        return None
    return size


@router.get("", response_model=list[StreamInfo])
def list_streams(manager: ManagerDep) -> list[StreamInfo]:
    """Every stream, oldest first, with status and stats."""
    return [stream_info(s) for s in manager.list()]


@router.get("/{stream_id}", response_model=StreamInfo)
def get_stream(stream_id: str, manager: ManagerDep) -> StreamInfo:
    """One stream's status, options and stats (fps, latency, frames processed and dropped)."""
    return stream_info(manager.get(stream_id))


@router.get("/{stream_id}/tracks", response_model=TracksSnapshot)
def latest_tracks(stream_id: str, manager: ManagerDep) -> TracksSnapshot:
    """The latest processed frame: tracks with boxes and forecasts."""
    s = manager.get(stream_id)
    return TracksSnapshot(stream_id=s.id, status=s.status, frame=s.latest)


@router.post("/{stream_id}/stop", response_model=StreamInfo)
async def stop_stream(stream_id: str, manager: ManagerDep) -> StreamInfo:
    """Stop processing; results so far stay downloadable."""
    return stream_info(await manager.stop(stream_id))


@router.delete("/{stream_id}", status_code=204)
async def delete_stream(stream_id: str, manager: ManagerDep) -> Response:
    """Stop the stream and delete it with its results."""
    await manager.delete(stream_id)
    return Response(status_code=204)


_RESULTS = {
    "jsonl": ("jsonl", "application/x-ndjson"),
    "txt": ("mot", "text/plain"),
    "mp4": ("mp4", "video/mp4"),
}


@router.get("/{stream_id}/results.{ext}", response_class=FileResponse)
def download_results(stream_id: str, ext: str, manager: ManagerDep) -> FileResponse:
    """Results as JSON Lines (``.jsonl``, one frame per line, same as ``trackcast track --jsonl``),
    MOTChallenge (``.txt``) or annotated video (``.mp4``, once the stream is over)."""
    s = manager.get(stream_id)
    if ext not in _RESULTS:
        raise HTTPException(404, f"no results.{ext}; available: results.jsonl, results.txt, results.mp4")
    key, media = _RESULTS[ext]
    path = s.results.get(key)
    if path is None or not path.is_file():
        raise HTTPException(404, f"stream {stream_id} has no {key} results (record/annotate options)")
    if key == "mp4" and not s.status.final:
        raise HTTPException(409, "the annotated video is complete once the stream is over")
    return FileResponse(path, media_type=media, filename=f"{stream_id}.{ext}")


@router.post("/{stream_id}/frames", status_code=202, response_model=PushAck)
async def push_frame(
    stream_id: str,
    request: Request,
    manager: ManagerDep,
    timestamp_s: Annotated[float | None, Query(description="Frame time, seconds (must increase).")] = None,
) -> PushAck:
    """Push one JPEG or PNG frame (the raw request body) into a ``push`` stream."""
    s = manager.get(stream_id)
    if not isinstance(s.source, PushSource):
        raise HTTPException(409, f"stream {stream_id} is a {s.source.kind} stream; frames go to push streams")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and not ctype.startswith("image/") and ctype != "application/octet-stream":
        raise HTTPException(415, f"send the frame as image/jpeg or image/png, not {ctype}")
    data = await request.body()
    try:
        index = await asyncio.to_thread(s.source.push, data, timestamp_s)
    except ValueError as exc:
        code = 415 if "decodable" in str(exc) else 422
        raise HTTPException(code, str(exc)) from exc
    except ChannelClosed as exc:
        raise HTTPException(409, f"stream {stream_id} is {s.status.value}") from exc
    return PushAck(stream_id=s.id, frame_index=index, queued=s.queue_depth, dropped=s.channel_dropped)
