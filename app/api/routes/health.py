"""Liveness and readiness."""

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, response: Response) -> dict[str, str | bool]:
    """Models are loaded (503 until they are)."""
    ready = getattr(request.app.state, "detector", None) is not None
    if not ready:
        response.status_code = 503
    return {"status": "ready" if ready else "loading", "detector": ready}
