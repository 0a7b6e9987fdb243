"""The ``trackcast`` command: track, eval-mot, serve, forecaster.

Every user error ends with one ``trackcast: error: ...`` line on stderr and exit status 2; results
produced before a failure (for example a truncated video) are written first.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("trackcast")


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _classes(value: str | None) -> list[str] | None:
    return None if not value else [c.strip() for c in value.split(",") if c.strip()]


def _build_detector(args: argparse.Namespace):
    from app.core.config import Settings
    from app.pipeline.detector import Detector, resolve_device

    settings = Settings()
    device = resolve_device(args.device or settings.device)
    model = args.model or settings.resolved_model(device)
    conf = args.conf if args.conf is not None else settings.conf
    try:
        return Detector(model, device=device, classes=_classes(args.classes), conf=conf,
                        iou=settings.iou, imgsz=args.imgsz or settings.imgsz,
                        half=settings.half and device.startswith("cuda"),
                        torch_threads=settings.torch_threads)  # fmt: skip
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def cmd_track(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.core.config import Settings
    from app.evaluation.mot import fill_gaps, load_mot, write_mot
    from app.pipeline.forecasting.factory import build_forecaster
    from app.pipeline.outputs import AnnotatedVideoWriter, JsonlWriter, MotWriter
    from app.pipeline.pipeline import ForecastConfig, StreamPipeline
    from app.pipeline.tracker import TrackerConfig
    from app.pipeline.video import VideoError, VideoReader

    settings = Settings()
    if args.fps is not None and not args.fps > 0:
        raise CliError(f"--fps must be > 0, got {args.fps}")
    try:
        reader = VideoReader(args.source, fps=args.fps)
    except VideoError as exc:
        raise CliError(str(exc)) from exc
    detector = _build_detector(args)
    try:
        forecaster = build_forecaster(args.forecaster or settings.forecaster)
        pipeline = StreamPipeline(
            forecaster, reader.info.fps, TrackerConfig(kind=args.tracker or settings.tracker),
            ForecastConfig(horizon_s=args.horizon or settings.horizon_s, step_s=settings.forecast_step_s),
        )  # fmt: skip
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    info = reader.info
    print(f"source {args.source}: {info.width}x{info.height}, {info.fps:g} fps ({info.fps_source}), "
          f"detector {detector.model_name} on {detector.device}, tracker {pipeline.tracker.config.kind}, "
          f"forecaster {getattr(forecaster, 'name', type(forecaster).__name__)}",
          file=sys.stderr)  # fmt: skip
    sinks: list = []
    if args.jsonl:
        sinks.append(JsonlWriter(args.jsonl, detector.names))
    if args.mot:
        sinks.append(MotWriter(args.mot))
    video_out = (
        AnnotatedVideoWriter(args.annotate, info.fps, (info.width, info.height), detector.names)
        if args.annotate
        else None
    )
    error: str | None = None
    n = 0
    start = time.perf_counter()
    bar = tqdm(total=info.frame_count, unit="frame", disable=args.quiet, dynamic_ncols=True)
    try:
        for index, t, frame in reader:
            result = pipeline.process(detector, frame, index, t)
            for s in sinks:
                s.write(result)
            if video_out is not None:
                video_out.write(frame, result)
            n += 1
            bar.update(1)
            bar.set_postfix(fps=f"{n / (time.perf_counter() - start):.1f}", tracks=len(result.tracks))
    except VideoError as exc:
        error = str(exc)
    except KeyboardInterrupt:
        error = "interrupted"
    finally:
        bar.close()
        for s in sinks:
            s.close()
        if video_out is not None:
            video_out.close()
        reader.close()
    elapsed = time.perf_counter() - start
    print(f"processed {n} frames in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.1f} fps)", file=sys.stderr)
    if args.mot and args.fill_gaps > 0:
        rows, added = fill_gaps(load_mot(args.mot), int(round(args.fill_gaps * info.fps)))
        write_mot(args.mot, rows)
        print(f"offline gap filling: added {added} interpolated boxes (gaps <= {args.fill_gaps:g} s, "
              f"conf -1) to {args.mot}", file=sys.stderr)  # fmt: skip
    if error:
        raise CliError(f"{error} (results for the {n} frames decoded were written)")
    return 0


def cmd_eval_mot(args: argparse.Namespace) -> int:
    from app.evaluation.mot import evaluate_mot

    try:
        frames = range(args.first, args.last + 1) if args.last else None
        print(evaluate_mot(args.gt, args.pred, frames).row())
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_eval_compare(args: argparse.Namespace) -> int:
    from app.evaluation.compare_cli import run_compare

    try:
        run_compare(args, _build_detector(args))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.config import Settings
    from app.core.logging import setup_logging

    s = Settings()
    setup_logging(s.log_level, s.log_json)

    class GracefulServer(uvicorn.Server):
        """Stops the streams and tells websocket subscribers why *before* uvicorn drops connections
        (uvicorn closes websockets with 1012 before the app's lifespan shutdown runs)."""

        async def shutdown(self, sockets=None):
            from app.main import app as fastapi_app

            manager = getattr(fastapi_app.state, "manager", None)
            if manager is not None:
                await manager.shutdown()
                await manager.wait_for_subscribers(timeout_s=3.0)
            await super().shutdown(sockets)

    config = uvicorn.Config("app.main:app", host=args.host or s.host, port=args.port or s.port,
                            log_config=None, log_level=s.log_level.lower(),
                            ws_ping_interval=s.ws_ping_interval_s or None,
                            ws_ping_timeout=s.ws_ping_timeout_s,
                            timeout_graceful_shutdown=10)  # fmt: skip
    GracefulServer(config).run()
    return 0


def _detector_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", help="detector: a path, an OpenVINO folder or a release name (default: shipped)"
    )
    p.add_argument("--classes", help="comma-separated class names or ids, e.g. person,car or 0,2")
    p.add_argument("--conf", type=float, help="detector confidence floor (default TRACKCAST_CONF, 0.1)")
    p.add_argument("--device", help="auto, cpu, cuda:0")
    p.add_argument("--imgsz", type=int, help="detector input size in pixels")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="trackcast", description="Real-time tracking and trajectory forecasting."
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("track", help="track a video file, image folder or stream URL offline")
    p.add_argument("source")
    _detector_args(p)
    p.add_argument("--tracker", choices=["botsort", "bytetrack", "ocsort"])
    p.add_argument("--forecaster", help="auto, constant_velocity or a checkpoint path")
    p.add_argument("--horizon", type=float, help="forecast horizon, seconds")
    p.add_argument("--fps", type=float, help="frame-rate override (else seqinfo.ini, then the container)")
    p.add_argument("--jsonl", type=Path, help="write one JSON record per frame here")
    p.add_argument("--mot", type=Path, help="write MOTChallenge txt here")
    p.add_argument("--annotate", type=Path, help="write an annotated MP4 here")
    p.add_argument("--fill-gaps", type=float, default=0.0, metavar="SECONDS",
                   help="offline only: interpolate MOT boxes across track gaps up to this long")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("eval-mot", help="score tracking (HOTA, MOTA, IDF1 via TrackEval)")
    esub = p.add_subparsers(dest="eval_command", required=True)
    s = esub.add_parser("score", help="score a MOTChallenge prediction file against ground truth")
    s.add_argument("pred", type=Path)
    s.add_argument("gt", type=Path)
    s.add_argument("--first", type=int, default=1, help="first frame scored (1-based)")
    s.add_argument("--last", type=int, default=0, help="last frame scored (default: all)")
    s.set_defaults(func=cmd_eval_mot)
    c = esub.add_parser("compare", help="Trackcast vs Ultralytics model.track on one MOT sequence")
    c.add_argument("sequence", type=Path, help="MOTChallenge sequence folder (seqinfo.ini, gt/, video)")
    _detector_args(c)
    c.add_argument("--out", type=Path, default=Path("runs/eval-mot"), help="where MOT files are written")
    c.add_argument("--no-ultralytics", action="store_true", help="skip Ultralytics' model.track runs")
    c.set_defaults(func=cmd_eval_compare)

    p = sub.add_parser("serve", help="start the HTTP/websocket service")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    try:
        from app.cli_forecaster import register
    except ImportError:
        pass
    else:
        register(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"trackcast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
