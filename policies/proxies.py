"""Proxies (代理人员, DOMAIN.md §3, 003 §16): who may act for whom, and when.

A user away on business names a proxy for a period; meanwhile the proxy acts for them and
every act is recorded as done on their behalf. Rules, in order:

* no self-proxy;
* a temporary account (临时账号) neither names a proxy nor is one: it serves apps, not
  people;
* the proxy's account must be active (and the principal's, for acting);
* a period ends after it starts, has not ended already, and lasts at most
  ``max_days`` (90 by default);
* no chains: a proxy cannot act for someone through another proxy — whoever is already
  acting for someone (an exchanged token, ``act`` claim) cannot act for a third person;
* acting happens only inside an unrevoked period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

TEMPORARY = "temporary"


@dataclass(frozen=True)
class ProxySettings:
    """max_days: the longest proxy period."""

    max_days: int = 90


@dataclass(frozen=True)
class Party:
    """An account as these rules see it."""

    account_id: str
    account_type: str
    active: bool


@dataclass(frozen=True)
class Period:
    starts_at: dt.datetime
    ends_at: dt.datetime
    revoked: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the rule that decided: a stable dotted code


def _allow(rule: str) -> Decision:
    return Decision(True, rule)


def _refuse(rule: str) -> Decision:
    return Decision(False, rule)


def _parties(principal: Party, proxy: Party) -> Decision | None:
    if principal.account_id == proxy.account_id:
        return _refuse("directory.proxy.self")
    if principal.account_type == TEMPORARY:
        return _refuse("directory.proxy.temporary_principal")
    if proxy.account_type == TEMPORARY:
        return _refuse("directory.proxy.temporary_proxy")
    if not proxy.active:
        return _refuse("directory.proxy.proxy_inactive")
    return None


def check_naming(principal: Party, proxy: Party, period: Period, now: dt.datetime,
                 settings: ProxySettings | None = None) -> Decision:
    """May ``principal`` name ``proxy`` for ``period``?"""
    settings = settings or ProxySettings()
    refused = _parties(principal, proxy)
    if refused is not None:
        return refused
    if period.ends_at <= period.starts_at:
        return _refuse("directory.proxy.period_order")
    if period.ends_at <= now:
        return _refuse("directory.proxy.period_past")
    if period.ends_at - period.starts_at > dt.timedelta(days=settings.max_days):
        return _refuse("directory.proxy.period_too_long")
    return _allow("directory.proxy.named")


def check_acting(principal: Party, proxy: Party, period: Period | None, at: dt.datetime,
                 *, already_acting: bool = False) -> Decision:
    """May ``proxy`` act for ``principal`` at ``at``? ``already_acting``: the proxy is itself
    acting for someone (no chains)."""
    if already_acting:
        return _refuse("directory.proxy.chain")
    refused = _parties(principal, proxy)
    if refused is not None:
        return refused
    if not principal.active:
        return _refuse("directory.proxy.principal_inactive")
    if period is None:
        return _refuse("directory.proxy.none")
    if period.revoked:
        return _refuse("directory.proxy.revoked")
    if not period.starts_at <= at < period.ends_at:
        return _refuse("directory.proxy.outside_period")
    return _allow("directory.proxy.acting")
