"""A real ``trackcast serve`` (uvicorn) process on a free loopback port, and websocket helpers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process. ``url`` is ``http://127.0.0.1:PORT``; ``ws`` the matching ``ws://`` base."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log = data_dir / "server.log"
        full_env = {**os.environ, "TRACKCAST_DATA_DIR": str(data_dir), "TRACKCAST_LOG_JSON": "true", **env}
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log_f = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)], cwd=REPO, env=full_env,
            stdout=self._log_f, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            self.stop()
            raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log_f.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server_env() -> dict[str, str]:
    """Settings of the shared test server (small limits so the limits can be tested)."""
    return {
        "TRACKCAST_MAX_UPLOAD_MB": "5",
        "TRACKCAST_MAX_STREAMS": "4",
        "TRACKCAST_RECONNECT_INITIAL_S": "0.3",
        "TRACKCAST_RECONNECT_MAX_S": "1.0",
        "TRACKCAST_RECONNECT_ATTEMPTS": "4",
        "TRACKCAST_SOURCE_TIMEOUT_S": "3",
        "TRACKCAST_SUBSCRIBER_QUEUE": "32",
        "TRACKCAST_WS_PING_INTERVAL_S": "0",  # lets a test hold a subscriber that does not read
    }


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]) -> Iterator[Server]:
    """One real server for the e2e tests of this session."""
    srv = Server(server_env, tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


def upload(
    server: Server, path: Path, options: dict | None = None, name: str | None = None
) -> httpx.Response:
    with path.open("rb") as f:
        return server.http.post(
            "/v1/streams",
            files={"file": (name or path.name, f, "video/x-msvideo")},
            data={"options": json.dumps(options or {})},
        )


def collect(ws_url: str, until_closed: bool = True, timeout_s: float = 300, max_messages: int | None = None):
    """Read JSON messages from a websocket until the server closes it (or ``max_messages``)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    msgs: list[dict] = []
    deadline = time.monotonic() + timeout_s
    with connect(ws_url, max_size=None, open_timeout=10) as ws:
        while time.monotonic() < deadline:
            try:
                msgs.append(json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic()))))
            except (ConnectionClosed, TimeoutError):
                break
            if max_messages is not None and len(msgs) >= max_messages:
                break
        close = (ws.close_code, ws.close_reason) if ws.close_code is not None else None
    return msgs, close
