"""A bearer token's signature is checked once per process (``idp.tokens._VERIFIED``); what
can change is checked at every use all the same: the times (an expired token is refused
although its signature was checked), the key (a token whose key was retired is refused),
and the token itself (one changed character is a different token, checked afresh)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import update

from directory.models import SigningKey
from idp import keys
from idp import tokens
from idp.app import runtime


def _mint(app, ttl: int = 600) -> str:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject="hr-app", client_id="hr-app",
                                        scope="directory", ttl=ttl)


def _verify(app, token: str) -> tokens.AccessToken:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.verify_access_token(s, rt.settings.issuer, token)


@pytest.fixture
def signatures(monkeypatch) -> list[str]:
    """The tokens whose signature is checked from now on."""
    checked: list[str] = []
    real = tokens.jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode",
                        lambda token, *a, **kw: checked.append(token) or real(token, *a, **kw))
    return checked


def test_a_signature_is_checked_once(world, signatures) -> None:
    app, _ = world
    token = _mint(app)
    first, again = _verify(app, token), _verify(app, token)
    assert signatures == [token]
    assert first == again and first.subject == "hr-app" and first.scope == {"directory"}
    again.claims["sub"] = "someone-else"  # a caller's copy: the kept one is untouched
    assert _verify(app, token).claims["sub"] == "hr-app"


def test_a_kept_token_is_refused_once_expired(world, signatures, monkeypatch) -> None:
    app, _ = world
    token = _mint(app, ttl=60)
    assert _verify(app, token).subject == "hr-app"
    later = time.time() + 60 + tokens.LEEWAY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(tokens.InvalidToken):
        _verify(app, token)
    assert signatures == [token]  # refused on the kept claims' times, not re-checked


def test_a_kept_token_is_refused_once_its_key_is_retired(world, sessions) -> None:
    app, _ = world
    token = _mint(app)
    assert _verify(app, token).subject == "hr-app"
    with sessions.begin() as s:
        s.execute(update(SigningKey).values(
            retired_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    keys.RING.forget()  # as `idp keys rotate` tells this process's ring
    with pytest.raises(tokens.InvalidToken):
        _verify(app, token)


def test_a_changed_token_is_checked_afresh(world, signatures) -> None:
    app, _ = world
    token = _mint(app)
    _verify(app, token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(tokens.InvalidToken):
        _verify(app, forged)
    assert signatures == [token, forged]


def test_the_kept_tokens_are_bounded(world, monkeypatch) -> None:
    app, _ = world
    monkeypatch.setattr(tokens, "VERIFIED_MAX", 3)
    monkeypatch.setattr(tokens, "_VERIFIED", {})
    made = [_mint(app) for _ in range(5)]
    for token in made:
        _verify(app, token)
    assert len(tokens._VERIFIED) == 3
