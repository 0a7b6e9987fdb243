"""The browser page: ``/`` serves ``app/web/index.html``; ``/static/<name>`` its scripts and styles.

The page is plain HTML + JavaScript (no build step, no CDN): it talks to the same REST routes and
websockets as any other client.
"""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """A file directly inside ``app/web`` (no sub-folders, only the types the page uses)."""
    path = (WEB_DIR / name).resolve()
    media = _MEDIA_TYPES.get(path.suffix.lower())
    if path.parent != WEB_DIR or media is None or not path.is_file():
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})
