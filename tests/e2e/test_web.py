"""The web page in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) on a real server.

The live view is checked on the pixels of a canvas screenshot: the video is drawn, and the boxes are
drawn over it in their track colours where the page says it drew them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import Server, upload

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
READY_JS = "() => window.trackcast && window.trackcast.boxesDrawn > 0 && window.trackcast.framesDrawn >= 3"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium) ; the web page test needs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server: Server) -> Iterator[object]:
    """A fresh page (1 CSS px = 1 device px, so canvas screenshots are the canvas pixels); fails the
    test on any uncaught JavaScript error."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, device_scale_factor=1)
    pg = context.new_page()
    js_errors: list[str] = []
    pg.on("pageerror", lambda exc: js_errors.append(str(exc)))
    pg.on("dialog", lambda dialog: dialog.accept())  # the delete button asks for confirmation
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not js_errors, f"JavaScript errors on the page: {js_errors}"


def _delete(server: Server, stream_id: str) -> None:
    r = server.http.delete(f"/v1/streams/{stream_id}")
    assert r.status_code in (204, 404), r.text


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _canvas_screenshot(page, path: Path) -> np.ndarray:
    """A screenshot of exactly the canvas's pixels (its layout box can sit at fractional CSS px, which
    makes an element screenshot one pixel larger), saved to ``path``."""
    box = page.locator("#live").bounding_box()
    w, h = page.evaluate("() => window.trackcast.canvasSize")
    assert abs(box["width"] - w) < 1 and abs(box["height"] - h) < 1, (box, w, h)  # drawn 1:1, not scaled
    clip = {"x": round(box["x"]), "y": round(box["y"]), "width": w, "height": h}
    return _rgb(page.screenshot(path=str(path), clip=clip))


def _hex(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def _colour_pixels_on_outline(
    img: np.ndarray, box: dict, color: np.ndarray, band: int = 3
) -> tuple[int, int]:
    """(pixels of ``color`` within ``band`` px of the box outline, outline length), clipped to the image."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (round(box[k]) for k in ("x1", "y1", "x2", "y2"))
    near = np.all(np.abs(img - color) <= 40, axis=2)
    ring = np.zeros((h, w), bool)
    for xa, xb, ya, yb in (
        (x1 - band, x2 + band, y1 - band, y1 + band), (x1 - band, x2 + band, y2 - band, y2 + band),
        (x1 - band, x1 + band, y1 - band, y2 + band), (x2 - band, x2 + band, y1 - band, y2 + band),
    ):  # fmt: skip
        ring[max(ya, 0) : max(yb + 1, 0), max(xa, 0) : max(xb + 1, 0)] = True
    cx1, cx2, cy1, cy2 = max(x1, 0), min(x2, w - 1), max(y1, 0), min(y2, h - 1)
    length = 2 * max(cx2 - cx1, 0) + 2 * max(cy2 - cy1, 0)
    return int((near & ring).sum()), length


def test_live_view_draws_the_video_with_coloured_boxes_over_it(
    server: Server, pets_video: Path, page, tmp_path: Path
):
    r = upload(server, pets_video, {"realtime": True})  # paced like a camera
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    try:
        page.goto(f"{server.url}/?stream={sid}")
        page.wait_for_function(READY_JS)
        # freeze a frame that has boxes on it (Pause is a button of the page)
        for _ in range(20):
            page.click("#v-pause")
            hook = page.evaluate("() => JSON.parse(JSON.stringify(window.trackcast))")
            if hook["lastBoxes"]:
                break
            page.click("#v-pause")
            page.wait_for_timeout(200)
        assert hook["paused"] and hook["lastBoxes"], hook
        assert hook["streamId"] == sid
        assert hook["canvasSize"] == [480, 360]  # PETS09-S2L1 is 480x360: the JPEG is not scaled down

        with_boxes = _canvas_screenshot(page, tmp_path / "live_view.png")
        page.uncheck("#v-overlays")  # redraws the same frame without boxes, trails and forecasts
        plain = _canvas_screenshot(page, tmp_path / "live_view_plain.png")
        after = page.evaluate("() => window.trackcast")
        assert after["lastFrameIndex"] == hook["lastFrameIndex"] and after["lastBoxes"] == []

        assert with_boxes.shape == plain.shape == (360, 480, 3)
        # the video is drawn: a real frame, not a blank or single-colour canvas
        assert plain.std() > 25, plain.std()
        assert len(np.unique(plain.reshape(-1, 3), axis=0)) > 1000
        # the overlays changed the picture...
        changed = np.any(np.abs(with_boxes - plain) > 30, axis=2)
        assert changed.sum() > 300, changed.sum()
        # ...and each box outline is drawn in its track's colour where the page says it drew it
        found = expected = 0
        good = 0
        for box in hook["lastBoxes"]:
            color = _hex(box["color"])
            n_box, length = _colour_pixels_on_outline(with_boxes, box, color)
            n_plain, _ = _colour_pixels_on_outline(plain, box, color)
            found += n_box - n_plain
            expected += length
            good += n_box - n_plain >= 0.5 * length
        assert found >= 0.6 * expected, (found, expected, hook["lastBoxes"])
        assert good >= max(1, len(hook["lastBoxes"]) // 2), (good, hook["lastBoxes"])
        assert page.locator("#live-status").inner_text().startswith(("running", "starting"))
    finally:
        _delete(server, sid)


def test_form_uploads_a_file_that_appears_in_the_list_and_is_stopped_and_deleted_there(
    server: Server, pets_video: Path, page
):
    page.goto(server.url)
    page.set_input_files("#f-file", str(pets_video))
    page.check("#f-realtime")
    page.fill("#f-classes", "person")
    page.fill("#f-horizon", "2")
    page.click("#f-submit")
    page.wait_for_function("() => window.trackcast.streamId !== null")
    sid = page.evaluate("() => window.trackcast.streamId")
    try:
        info = server.http.get(f"/v1/streams/{sid}").json()
        assert info["kind"] == "file" and info["source"] == pets_video.name
        assert info["options"]["realtime"] is True and info["options"]["horizon_s"] == 2
        assert info["options"]["classes"] is not None and len(info["options"]["classes"]) == 1
        row = page.locator(f'tr[data-id="{sid}"]')
        row.wait_for()
        assert pets_video.name in row.inner_text()
        assert page.url.endswith(f"?stream={sid}")  # the new stream's live view opened
        page.wait_for_function("() => window.trackcast.framesDrawn >= 1")

        row.locator(".b-stop").click()
        row.locator(".status", has_text="stopped").wait_for()
        assert server.http.get(f"/v1/streams/{sid}").json()["status"] == "stopped"
        row.locator(".downloads a", has_text="JSONL").wait_for()

        row.locator(".b-delete").click()
        row.wait_for(state="detached")
        assert server.http.get(f"/v1/streams/{sid}").status_code == 404
        assert page.evaluate("() => window.trackcast.streamId") is None  # the live view closed
    finally:
        _delete(server, sid)


@pytest.mark.parametrize(
    ("name", "content", "options", "status"),
    [
        ("notes.mp4", b"not a video at all\n" * 50, {}, "415"),
        ("clip.avi", None, {"classes": "no_such_class"}, "422"),
    ],
)
def test_form_shows_the_api_error_detail(
    server: Server, pets_video: Path, page, tmp_path: Path, name, content, options, status
):
    path = tmp_path / name
    path.write_bytes(content if content is not None else pets_video.read_bytes()[:200_000])
    page.goto(server.url)
    page.set_input_files("#f-file", str(path))
    if "classes" in options:
        page.fill("#f-classes", options["classes"])
    before = {s["id"] for s in server.http.get("/v1/streams").json()}
    page.click("#f-submit")
    error = page.locator("#error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert text.startswith("Could not start the stream: " + status), text
    detail = json.dumps(options.get("classes", name))  # the server's detail names the culprit
    assert detail.strip('"') in text, text
    after = {s["id"] for s in server.http.get("/v1/streams").json()}
    for sid in after - before:  # nothing should have started; clean up if it did
        _delete(server, sid)
    assert after == before
