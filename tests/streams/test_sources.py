from pathlib import Path

import pytest

from app.pipeline.video import VideoError
from app.streams.sources import FileSource, PushSource, ReconnectPolicy, UrlSource


def test_backoff_doubles_up_to_its_cap():
    p = ReconnectPolicy(initial_s=0.5, max_s=3.0)
    assert [p.delay(k) for k in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"initial_s": 0}, "initial_s"), ({"initial_s": 2, "max_s": 1}, "initial_s <= max_s"),
     ({"max_attempts": 0}, "max_attempts"), ({"timeout_s": 0}, "timeout_s")],
)  # fmt: skip
def test_bad_policies_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReconnectPolicy(**kwargs)


def test_sources_validate_at_construction(tmp_path: Path, pets_video: Path):
    with pytest.raises(ValueError, match="url: unsupported scheme"):
        UrlSource("file:///etc/passwd")
    with pytest.raises(ValueError, match="fps must be > 0"):
        PushSource(fps=-1)
    junk = tmp_path / "x.mp4"
    junk.write_bytes(b"nope")
    with pytest.raises(VideoError, match="not a readable video"):
        FileSource(junk)
    src = FileSource(pets_video, fps=7, realtime=True)
    assert src.fps == 7 and src.live and src.frame_count == 795


def test_push_source_refuses_frames_before_start_and_bad_images():
    from app.streams.channel import ChannelClosed

    src = PushSource()
    with pytest.raises(ChannelClosed):
        src.push(b"\xff\xd8")
