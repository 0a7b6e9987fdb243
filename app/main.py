"""FastAPI app and lifespan: heavy models load once here and live on ``app.state``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from app.api.main import api_router
from app.api.schemas import CreateStream
from app.core.config import Settings, get_settings
from app.streams.events import event_adapter
from app.streams.manager import ManagerConfig, StreamManager, StreamNotFound, TooManyStreams
from app.streams.metrics import Metrics

__all__ = ["app", "create_app"]

log = logging.getLogger("trackcast")

DESCRIPTION = """Real-time tracking and trajectory forecasting.

Start a stream with `POST /v1/streams` (a URL, `push`, or a multipart file upload), then subscribe
to `WS /v1/streams/{id}/events` (or `WS /v1/events` for every stream). Websocket messages are JSON
objects with `version` and `type`: `frame` (tracks: id, class, confidence, `xyxy` box in pixels,
forecast points with `dt_s` offsets in seconds and 1-sigma uncertainty in pixels), `track`
(lifecycle: appeared, lost, ended), `status` (starting, running, reconnecting, ended, stopped,
error) and `dropped` (messages dropped for a slow subscriber). Their schemas are listed below as
FrameMessage, TrackMessage, StatusMessage and DroppedMessage.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Models load in the lifespan, so importing this module stays cheap."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from app.pipeline.detector import Detector, resolve_device
        from app.pipeline.forecasting.factory import build_forecaster

        device = resolve_device(settings.device)
        app.state.detector = Detector(
            settings.resolved_model(device), device=device, conf=settings.conf, iou=settings.iou,
            imgsz=settings.imgsz, half=settings.half and device.startswith("cuda"),
            torch_threads=settings.torch_threads,
        )  # fmt: skip
        app.state.forecaster = build_forecaster(settings.forecaster)
        log.info("models loaded: detector %s on %s", app.state.detector.model_name, device)
        manager = StreamManager(
            app.state.detector, app.state.forecaster,
            ManagerConfig(settings.max_streams, settings.resolved_max_batch(device),
                          settings.subscriber_queue, settings.live_buffer, settings.data_dir),
            Metrics(),
        )  # fmt: skip
        await manager.start()
        app.state.manager = manager
        try:
            yield
        finally:
            log.info("shutting down: stopping %d streams", len(manager.active))
            await manager.shutdown()
            app.state.manager = None

    app = FastAPI(title="Trackcast", version="0.1.0", lifespan=lifespan, description=DESCRIPTION)
    app.state.settings = settings
    app.state.manager = None

    @app.exception_handler(StreamNotFound)
    async def _not_found(request: Request, exc: StreamNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"stream {exc.args[0]} not found"}, status_code=404)

    @app.exception_handler(TooManyStreams)
    async def _too_many(request: Request, exc: TooManyStreams) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "10"})

    app.include_router(api_router)

    def openapi() -> dict:
        """The generated schema plus the websocket messages and the JSON create body."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)  # fmt: skip
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            for adapter in (event_adapter, TypeAdapter(CreateStream)):
                js = adapter.json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                if "title" in js and "oneOf" not in js:
                    comps[js["title"]] = js
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


app = create_app()
