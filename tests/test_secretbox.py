from pathlib import Path

import pytest

from asyncgate.config import Settings
from asyncgate.secretbox import SecretBox, load_secret_key


def settings_in(folder: Path, **overrides) -> Settings:
    return Settings(data_dir=folder, _env_file=None, **overrides)


class TestSecretKey:
    def test_generated_key_is_kept_private_and_reused(self, tmp_path):
        first = load_secret_key(settings_in(tmp_path))
        assert load_secret_key(settings_in(tmp_path)) == first
        assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600

    def test_configured_key_wins_and_writes_no_file(self, tmp_path):
        assert load_secret_key(settings_in(tmp_path, secret_key="configured")) == "configured"
        assert not (tmp_path / "secret.key").exists()


class TestSecretBox:
    def test_round_trip_hides_the_plaintext(self):
        box = SecretBox("k1")
        sealed = box.encrypt("callout-password")
        assert "callout-password" not in sealed
        assert box.decrypt(sealed) == "callout-password"

    def test_another_key_cannot_open_it(self):
        sealed = SecretBox("k1").encrypt("x")
        with pytest.raises(ValueError, match="SECRET_KEY"):
            SecretBox("k2").decrypt(sealed)


def test_the_app_creates_its_key_on_first_start(tmp_path):
    from asyncgate.app import create_app

    app = create_app(settings_in(tmp_path, database_url=f"sqlite:///{tmp_path}/a.db"))
    sealed = app.state.secret_box.encrypt("x")
    assert (tmp_path / "secret.key").exists()
    assert SecretBox(load_secret_key(settings_in(tmp_path))).decrypt(sealed) == "x"
