"""Configuration, read from the environment inside ``create_app`` (never at import time)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _secret_key(data_dir: Path) -> str:
    """The secret key from the environment, or one generated once and kept in the data dir."""
    env = os.environ.get("LIBRARY_SECRET_KEY")
    if env:
        return env
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    overrides = dict(overrides or {})
    data_dir = Path(
        overrides.get("LIBRARY_DATA_DIR") or os.environ.get("LIBRARY_DATA_DIR") or "instance"
    ).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = (
        overrides.get("LIBRARY_DATABASE_URL")
        or os.environ.get("LIBRARY_DATABASE_URL")
        or f"sqlite:///{data_dir / 'library.sqlite3'}"
    )
    config: dict[str, Any] = {
        "LIBRARY_DATA_DIR": str(data_dir),
        "LIBRARY_DATABASE_URL": database_url,
        "LIBRARY_TIMEZONE": os.environ.get("LIBRARY_TIMEZONE", "Asia/Shanghai"),
        "LIBRARY_INDEX_DIR": str(data_dir / "index"),
        "LIBRARY_UPLOAD_DIR": str(data_dir / "uploads"),
        "LIBRARY_RUN_SCHEDULER": os.environ.get("LIBRARY_RUN_SCHEDULER", "0") == "1",
        "LIBRARY_NOTICE_CHANNELS": os.environ.get("LIBRARY_NOTICE_CHANNELS", "log"),
        "LIBRARY_LOGIN_MAX_FAILURES": 5,
        "LIBRARY_LOGIN_WINDOW_MINUTES": 15,
        "BABEL_DEFAULT_LOCALE": "zh_Hans",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("LIBRARY_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_Hans", "en"],
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
        "JSON_AS_ASCII": False,
    }
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(data_dir)
    return config
