"""``trackcast forecaster train|eval``: train the LSTM forecaster and compare it with the baselines.

The main CLI calls :func:`register`; ``python -m app.cli_forecaster ...`` runs it alone. Training code
is imported only when a subcommand runs, so the service never loads it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "register"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared"


def _shared(args: argparse.Namespace) -> Path:
    path = Path(args.shared_dir)
    if not (path / "data" / "trajectories").is_dir():
        raise SystemExit(f"error: no trajectories under {path}/data/trajectories (pass --shared-dir)")
    return path


def _train(args: argparse.Namespace) -> int:
    from app.forecasting.experiment import load_config, run_training

    try:
        cfg = load_config(args.config)
    except (ValueError, TypeError) as exc:
        raise SystemExit(f"error: {exc}") from exc
    for path in run_training(cfg, _shared(args), progress=not args.no_progress):
        print(f"wrote {path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from app.forecasting.evaluate import eval_eth_ucy, eval_pixel, format_table
    from app.forecasting.experiment import load_config

    shared = _shared(args)
    root = shared / "data" / "trajectories"
    parts = []
    if args.what in ("all", "eth_ucy"):
        models_dir = Path(args.eth_ucy_models) if args.eth_ucy_models else None
        table = eval_eth_ucy(root / "eth_ucy", models_dir)
        parts.append(
            format_table(table, ("ade", "fde"), "ETH/UCY test (obs 3.2 s, pred 4.8 s), ADE/FDE in metres")
        )
        parts.append(
            format_table(
                {s: {"lstm": r["lstm"]} for s, r in table.items() if "lstm" in r},
                ("coverage90",),
                "ETH/UCY LSTM: share of true points inside the predicted 90% region",
            )
            if "lstm" in table["average"]
            else "(no ETH/UCY LSTM checkpoints found)"
        )
    if args.what in ("all", "pixel"):
        cfg = load_config(args.config)
        ckpts = {"lstm": Path(args.checkpoint)}
        for extra in args.extra_checkpoint or []:
            ckpts[Path(extra).stem] = Path(extra)
        table = eval_pixel(cfg, root / "pixel", ckpts)
        parts.append(format_table(table, ("ade", "fde"), "Pixel test split, ADE/FDE in pixels"))
        parts.append(
            format_table(
                table,
                ("ade_norm", "fde_norm", "ade_norm_median", "ade_norm_p90"),
                "Pixel test split, in box heights (ADE, FDE, median and p90 of per-window ADE)",
            )
        )
        parts.append(
            format_table(
                {g: {k: v for k, v in r.items() if not np.isnan(v.coverage90)} for g, r in table.items()},
                ("coverage90",),
                "Pixel test split: share of true points inside the predicted 90% region",
            )
        )
    text = "\n\n".join(parts)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecaster`` command (``train``, ``eval``) to a parent parser's subparsers."""
    p = subparsers.add_parser("forecaster", help="train / evaluate the LSTM trajectory forecaster")
    sub = p.add_subparsers(dest="forecaster_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--shared-dir", default=str(DEFAULT_SHARED), help="shared assets folder (default: %(default)s)"
    )
    t = sub.add_parser("train", parents=[common], help="train from a TOML config (seeded, CPU)")
    t.add_argument(
        "--config",
        default=str(REPO / "models" / "forecaster" / "train.toml"),
        help="pixel (shipped) or eth_ucy config (default: %(default)s)",
    )
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.set_defaults(func=_train)
    e = sub.add_parser("eval", parents=[common], help="LSTM vs baselines on ETH/UCY and the pixel test split")
    e.add_argument("--what", choices=("all", "eth_ucy", "pixel"), default="all")
    e.add_argument(
        "--config",
        default=str(REPO / "models" / "forecaster" / "train.toml"),
        help="pixel config giving the test split (default: %(default)s)",
    )
    e.add_argument("--checkpoint", default=str(REPO / "models" / "forecaster" / "lstm.pt"))
    e.add_argument(
        "--extra-checkpoint", action="append", help="more pixel checkpoints to compare (repeatable)"
    )
    e.add_argument(
        "--eth-ucy-models",
        default=str(REPO / "models" / "forecaster" / "eth_ucy"),
        help="folder with one SCENE.pt per held-out scene",
    )
    e.add_argument("--output", help="also write the tables (markdown) to this file")
    e.set_defaults(func=_eval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trackcast")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
