"""Settings: a TOML file, then ``IDP_…`` environment variables, validated once at start.

File: ``$IDP_CONFIG`` or ``var/idp.toml`` when present. Every field is documented in the
README's configuration table. The server refuses to start with an empty, short or
well-known secret, and with a plain-http issuer that is not a loopback address.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from directory.crypto import FieldCipher
from directory.crypto import decode_key
from directory.crypto import new_key_text
from directory.passwords import PasswordSettings
from directory.settings import DirectorySettings
from policies.accounts import AccountSettings
from policies.transport import is_loopback

DEFAULT_CONFIG_PATH = Path("var/idp.toml")
KNOWN_BAD_SECRETS = frozenset({"", "secret", "changeme", "change-me", "dev", "development",
                               "default", "password", "test", "please-change-me"})
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """Configuration that the server refuses to run with; the message says why."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/idp.db"
    issuer: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    data_keys: dict[str, str] = field(default_factory=dict)
    data_key_id: str = ""
    index_key: str = ""
    argon2_memory_kib: int = 7 * 1024
    argon2_time_cost: int = 5
    argon2_parallelism: int = 1
    temporary_account_max_days: int = 90
    contacts_reads_per_minute: int = 300
    app_reads_per_minute: int = 3000
    bulk_read_threshold: int = 200
    # sign-in (#4): browser sessions, lockout, administrators' password age, token lifetimes
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    admin_password_max_days: int = 90
    access_token_seconds: int = 600
    refresh_token_days: int = 30
    code_seconds: int = 60
    log_level: str = "INFO"
    # reverse proxies in front of the server that set X-Forwarded-For/-Proto/-Host (each
    # appends to them); 0: none, and those headers are ignored (a client could forge them)
    trusted_proxies: int = 0
    testing: bool = False

    def directory(self) -> DirectorySettings:
        cipher = FieldCipher(
            keys={kid: decode_key(text) for kid, text in self.data_keys.items()},
            active_key_id=self.data_key_id,
            index_key=decode_key(self.index_key),
        )
        return DirectorySettings(
            cipher=cipher,
            passwords=PasswordSettings(self.argon2_memory_kib, self.argon2_time_cost,
                                       self.argon2_parallelism),
            accounts=AccountSettings(temporary_max_days=self.temporary_account_max_days),
        )


MAX_TRUSTED_PROXIES = 5


def validate(settings: Settings) -> Settings:
    """Raise ConfigError naming the setting and the rule; return settings unchanged."""
    if settings.secret_key in KNOWN_BAD_SECRETS or len(settings.secret_key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"IDP_SECRET_KEY must be a random value of at least "
                          f"{MIN_SECRET_LENGTH} characters (not empty, not a default)")
    parts = urlsplit(settings.issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("IDP_ISSUER must be an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError("IDP_ISSUER uses plain http on a non-loopback host: use https")
    if parts.query or parts.fragment:
        raise ConfigError("IDP_ISSUER must not have a query or fragment (OIDC Discovery §3)")
    for name in ("session_idle_minutes", "session_max_hours", "login_max_failures",
                 "login_lockout_minutes", "admin_password_max_days", "access_token_seconds",
                 "refresh_token_days", "code_seconds"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"IDP_{name.upper()} must be a positive integer")
    if not 0 <= settings.trusted_proxies <= MAX_TRUSTED_PROXIES:
        raise ConfigError(f"IDP_TRUSTED_PROXIES must be 0 (no proxy in front) to "
                          f"{MAX_TRUSTED_PROXIES}")
    if settings.code_seconds > 600:
        raise ConfigError("IDP_CODE_SECONDS must be at most 600 (RFC 6749 §4.1.2)")
    if not settings.data_keys or settings.data_key_id not in settings.data_keys:
        raise ConfigError("IDP_DATA_KEYS must hold the key named by IDP_DATA_KEY_ID")
    try:
        settings.directory()
    except ValueError as exc:
        raise ConfigError(f"IDP_DATA_KEYS / IDP_INDEX_KEY: {exc}") from exc
    return settings


def _parse_keys(text: str) -> dict[str, str]:
    """'kid1:base64,kid2:base64' -> {kid: base64}."""
    pairs = [item.split(":", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ConfigError("IDP_DATA_KEYS is 'id:base64key[,id:base64key…]'")
    return {kid.strip(): key.strip() for kid, key in pairs}


def _coerce(name: str, current: Any, text: str) -> Any:
    if name == "data_keys":
        return _parse_keys(text)
    if isinstance(current, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError as exc:
            raise ConfigError(f"IDP_{name.upper()} must be an integer") from exc
    return text


def load(path: Path | None = None, env: dict[str, str] | None = None,
         *, check: bool = True) -> Settings:
    env = dict(os.environ if env is None else env)
    path = path or Path(env.get("IDP_CONFIG", DEFAULT_CONFIG_PATH))
    values: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as fh:
            values.update(tomllib.load(fh))
    defaults = Settings()
    names = {f.name for f in fields(Settings)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    for name in names:
        key = f"IDP_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, getattr(defaults, name), env[key])
    settings = Settings(**values)
    return validate(settings) if check else settings


def write_new_config(path: Path, database_url: str | None = None) -> None:
    """A config file with fresh random secrets, readable by its owner only."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Generated by `idp init`: random secrets for this installation. Keep it private.",
        f'secret_key = "{secrets.token_urlsafe(48)}"',
        'data_key_id = "k1"',
        f'index_key = "{new_key_text()}"',
        "",
        "[data_keys]",
        f'k1 = "{new_key_text()}"',
    ]
    if database_url:
        lines.insert(1, f'database_url = "{database_url}"')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
