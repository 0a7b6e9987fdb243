"""Includes every route module."""

from fastapi import APIRouter

from app.api.routes import health, ops, streams, web, ws

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(ops.router)
api_router.include_router(streams.router)
api_router.include_router(ws.router)
api_router.include_router(web.router)
