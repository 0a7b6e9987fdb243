"""FastAPI app and lifespan: heavy models load once here and live on ``app.state``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.main import api_router
from app.core.config import Settings, get_settings

__all__ = ["app", "create_app"]

log = logging.getLogger("trackcast")


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
        yield

    app = FastAPI(title="Trackcast", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(api_router)
    return app


app = create_app()
