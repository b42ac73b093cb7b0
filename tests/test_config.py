"""Settings: how they are read, and the README table that documents every one of them."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from asyncgate.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `ASYNCGATE_([A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    expected = {name.upper() for name in Settings.model_fields}
    assert documented == expected


def test_readme_gives_the_two_setup_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_durations_accept_plain_seconds_and_iso_8601(monkeypatch):
    monkeypatch.setenv("ASYNCGATE_TOKEN_LIFETIME", "90")
    monkeypatch.setenv("ASYNCGATE_SQLITE_BUSY_TIMEOUT", "PT2S")
    settings = Settings(_env_file=None)
    assert settings.token_lifetime.total_seconds() == 90
    assert settings.sqlite_busy_timeout.total_seconds() == 2


class TestDatabaseUrl:
    def test_the_default_is_a_sqlite_file_under_var(self, monkeypatch):
        monkeypatch.delenv("ASYNCGATE_DATABASE_URL", raising=False)
        settings = Settings(_env_file=None)
        assert settings.is_sqlite
        assert make_url(settings.database_url).database == "./var/asyncgate.db"

    def test_the_documented_sqlite_form_and_the_earlier_one_name_the_same_database(self):
        documented = Settings(database_url="sqlite:///var/a.db", _env_file=None)
        earlier = Settings(database_url="sqlite+aiosqlite:///var/a.db", _env_file=None)
        assert documented.engine_url == earlier.engine_url == "sqlite+aiosqlite:///var/a.db"
        assert documented.database_url == "sqlite:///var/a.db"  # as the operator wrote it
        assert documented.is_sqlite

    def test_a_sqlite_driver_that_would_not_run_is_refused(self):
        with pytest.raises(ValidationError, match="sqlite:///path"):
            Settings(database_url="sqlite+pysqlite:///var/a.db", _env_file=None)

    def test_a_postgresql_url_is_taken_as_given(self):
        url = "postgresql+asyncpg://user:pass@db.example/asyncgate"
        settings = Settings(database_url=url, _env_file=None)
        assert (settings.database_url, settings.engine_url, settings.is_sqlite) == (url, url, False)
