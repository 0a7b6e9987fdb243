import pytest

from app.api.deps import build_options
from app.api.schemas import CreateStream, StreamOptionsIn
from app.core.config import Settings
from app.pipeline.detector import COCO_NAMES

NAMES = dict(enumerate(COCO_NAMES))


def test_options_take_settings_defaults_and_resolve_class_names():
    s = Settings(horizon_s=3.0, forecast_step_s=0.5, tracker="bytetrack")
    o = build_options(StreamOptionsIn(classes=["person", "car", 2]), s, NAMES, upload=True)
    assert o.classes == (0, 2) and o.tracker == "bytetrack" and o.horizon_s == 3.0 and o.step_s == 0.5
    assert o.annotate is True
    live = build_options(StreamOptionsIn(horizon_s=1.0), s, NAMES, upload=False)
    assert live.annotate is False and live.step_s == 0.5 and live.classes is None


def test_bad_options_name_the_option():
    with pytest.raises(ValueError, match="classes: unknown class name 'dragon'"):
        build_options(StreamOptionsIn(classes=["dragon"]), Settings(), NAMES, upload=False)
    with pytest.raises(ValueError, match="forecast_step_s"):
        build_options(StreamOptionsIn(horizon_s=0.2, forecast_step_s=0.4), Settings(), NAMES, upload=False)
    with pytest.raises(ValueError, match="exactly one source"):
        CreateStream(url="rtsp://x", push=True)
