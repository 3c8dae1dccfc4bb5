"""Settings: one prefix, generated local secrets, refusal of placeholders in production."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from booking.settings import Settings, SettingsError

GOOD = {"secret_key": "s" * 48, "data_key": base64.b64encode(b"d" * 32).decode(),
        "database_url": "postgresql+asyncpg://u@db/booking"}


def test_defaults_need_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("BOOKING_"):
            monkeypatch.delenv(key)
    settings = Settings()
    assert settings.env == "development" and settings.is_sqlite
    assert settings.database_url == "sqlite+aiosqlite:///var/booking.sqlite3"
    assert settings.redis_url is None and settings.default_locale == "zh_Hans_CN"


def test_environment_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOKING_DATABASE_URL", "postgresql+asyncpg://x@y/z")
    monkeypatch.setenv("BOOKING_REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("BOOKING_PORT", "9001")
    monkeypatch.setenv("DATABASE_URL", "ignored")
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == "postgresql+asyncpg://x@y/z" and settings.port == 9001
    assert settings.redis_url == "redis://r:6379/0"


def test_development_generates_and_keeps_secrets(tmp_path):
    first = Settings(data_dir=tmp_path).ensure_secrets()
    second = Settings(data_dir=tmp_path).ensure_secrets()
    assert len(first.secret_key) >= 32 and len(base64.b64decode(first.data_key)) == 32
    assert (first.secret_key, first.data_key) == (second.secret_key, second.data_key)
    path = tmp_path / "secrets.json"
    assert json.loads(path.read_text())["secret_key"] == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("override", [
    {"secret_key": ""},
    {"secret_key": "change-me"},
    {"secret_key": "short"},
    {"data_key": ""},
    {"data_key": base64.b64encode(b"x" * 8).decode()},
    {"data_key": "not base64 !!"},
    {"database_url": "sqlite+aiosqlite:///prod.db"},
])
def test_production_refuses_placeholders(tmp_path, override):
    with pytest.raises(SettingsError):
        Settings(env="production", data_dir=tmp_path, **{**GOOD, **override}).ensure_secrets()
    assert not (tmp_path / "secrets.json").exists()


def test_production_with_real_secrets(tmp_path):
    settings = Settings(env="production", data_dir=tmp_path, **GOOD).ensure_secrets()
    assert settings.secret_key == GOOD["secret_key"]
