"""Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format: per-stream fps, frames processed/dropped, per-stage latency
    histograms, detector batch sizes, queue depths, subscribers, dropped subscriber messages."""
    manager = getattr(request.app.state, "manager", None)
    if manager is None:
        return Response("# models loading\n", media_type=CONTENT_TYPE_LATEST)
    manager.refresh()
    return Response(manager.metrics.render(), media_type=CONTENT_TYPE_LATEST)
