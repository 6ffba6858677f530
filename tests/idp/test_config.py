"""Configuration: TOML then IDP_ environment, validated once; refusals name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp import config
from tests.factories import TEST_SECRETS


def _env(**overrides: str) -> dict[str, str]:
    keys = ",".join(f"{k}:{v}" for k, v in TEST_SECRETS["data_keys"].items())
    env = {"IDP_SECRET_KEY": TEST_SECRETS["secret_key"], "IDP_DATA_KEYS": keys,
           "IDP_DATA_KEY_ID": TEST_SECRETS["data_key_id"],
           "IDP_INDEX_KEY": TEST_SECRETS["index_key"]}
    env.update(overrides)
    return env


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text('issuer = "http://localhost:9000"\ntemporary_account_max_days = 30\n')
    settings = config.load(path, _env(IDP_TEMPORARY_ACCOUNT_MAX_DAYS="45"))
    assert settings.issuer == "http://localhost:9000"
    assert settings.temporary_account_max_days == 45
    assert settings.directory().accounts.temporary_max_days == 45


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "short-but-random"],
                         ids=["empty", "changeme", "secret", "short"])
def test_refuses_default_or_weak_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(config.ConfigError, match="IDP_SECRET_KEY"):
        config.load(tmp_path / "none.toml", _env(IDP_SECRET_KEY=secret))


@pytest.mark.parametrize("issuer", ["http://idp.example.gov.cn", "http://10.0.0.5:8000",
                                    "ftp://127.0.0.1", "http://127.0.0.1/?x=1"])
def test_refuses_plain_http_off_loopback_and_bad_issuers(tmp_path: Path, issuer: str) -> None:
    with pytest.raises(config.ConfigError, match="IDP_ISSUER"):
        config.load(tmp_path / "none.toml", _env(IDP_ISSUER=issuer))


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000", "http://localhost",
                                    "http://[::1]:8080", "https://idp.example.gov.cn"])
def test_accepts_loopback_http_and_https(tmp_path: Path, issuer: str) -> None:
    assert config.load(tmp_path / "none.toml", _env(IDP_ISSUER=issuer)).issuer == issuer


def test_refuses_missing_data_key(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="IDP_DATA_KEYS"):
        config.load(tmp_path / "none.toml", _env(IDP_DATA_KEY_ID="absent"))


def test_refuses_short_data_key(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="32 bytes"):
        config.load(tmp_path / "none.toml", _env(IDP_DATA_KEYS="t1:c2hvcnQ"))


def test_refuses_unknown_setting_in_file(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text('isuer = "typo"\n')
    with pytest.raises(config.ConfigError, match="isuer"):
        config.load(path, _env())


def test_refuses_non_integer(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="IDP_ARGON2_TIME_COST"):
        config.load(tmp_path / "none.toml", _env(IDP_ARGON2_TIME_COST="two"))


def test_argon2_below_owasp_floor_refused(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="OWASP"):
        config.load(tmp_path / "none.toml", _env(IDP_ARGON2_MEMORY_KIB="1024"))


def test_generated_config_is_private_and_valid(tmp_path: Path) -> None:
    path = tmp_path / "var" / "idp.toml"
    config.write_new_config(path)
    assert path.stat().st_mode & 0o777 == 0o600
    settings = config.load(path, {})
    assert len(settings.secret_key) >= 48
    other = tmp_path / "other.toml"
    config.write_new_config(other)
    assert config.load(other, {}).secret_key != settings.secret_key
