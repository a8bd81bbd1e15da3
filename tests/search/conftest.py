"""Search-test fixtures: a live HTTP server (for yaz-client and Sickle), in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class LiveServer:
    app: Flask
    url: str


@pytest.fixture
def live(app: Flask) -> Iterator[LiveServer]:
    app.config["SERVER_NAME"] = None
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
