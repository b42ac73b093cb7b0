"""Settings: how they are read, and the README table that documents every one of them."""

import re
from pathlib import Path

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
