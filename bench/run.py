"""``make bench``: run every benchmark and write bench/results/latest.json (+ a dated copy)."""

from __future__ import annotations

import importlib
import json
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    import os

    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    from bench import pipeline

    print("pipeline vs detector ...", flush=True)
    results["pipeline_vs_detector"] = pipeline.pipeline_vs_detector()
    print(json.dumps(results["pipeline_vs_detector"], indent=1), flush=True)
    print("association ...", flush=True)
    results["association"] = pipeline.association_rate()
    print(json.dumps(results["association"], indent=1), flush=True)
    for name in ("forecaster", "server"):  # optional parts, present once their issues land
        try:
            mod = importlib.import_module(f"bench.{name}")
        except ImportError:
            continue
        print(f"{name} ...", flush=True)
        try:
            results[name] = mod.run()
        except Exception as exc:  # a failing benchmark is reported, not hidden
            results[name] = {"error": repr(exc)}
        print(json.dumps(results[name], indent=1), flush=True)
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text)
    print(f"wrote {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
