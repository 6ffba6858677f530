"""Proxies (代理人员, DOMAIN.md §3): who may name whom, and when a proxy acts."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.proxies import Party
from policies.proxies import Period
from policies.proxies import ProxySettings
from policies.proxies import check_acting
from policies.proxies import check_naming

NOW = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ALICE = Party("a", "user", True)
BOB = Party("b", "user", True)
PERIOD = Period(NOW, NOW + 7 * DAY)


@pytest.mark.parametrize(("principal", "proxy", "period", "rule"), [
    (ALICE, BOB, PERIOD, "directory.proxy.named"),
    (ALICE, Party("b", "graded_admin", True), PERIOD, "directory.proxy.named"),
    (ALICE, ALICE, PERIOD, "directory.proxy.self"),
    (Party("a", "temporary", True), BOB, PERIOD, "directory.proxy.temporary_principal"),
    (ALICE, Party("b", "temporary", True), PERIOD, "directory.proxy.temporary_proxy"),
    (ALICE, Party("b", "user", False), PERIOD, "directory.proxy.proxy_inactive"),
    (ALICE, BOB, Period(NOW, NOW), "directory.proxy.period_order"),
    (ALICE, BOB, Period(NOW - 9 * DAY, NOW - DAY), "directory.proxy.period_past"),
    (ALICE, BOB, Period(NOW, NOW + 90 * DAY), "directory.proxy.named"),
    (ALICE, BOB, Period(NOW, NOW + 91 * DAY), "directory.proxy.period_too_long"),
], ids=["ok", "admin-proxy", "self", "temporary-principal", "temporary-proxy",
        "inactive-proxy", "empty-period", "past-period", "90-days", "91-days"])
def test_naming(principal, proxy, period, rule) -> None:
    decision = check_naming(principal, proxy, period, NOW)
    assert decision.rule == rule
    assert decision.allowed == (rule == "directory.proxy.named")


def test_the_longest_period_is_a_setting() -> None:
    period = Period(NOW, NOW + 10 * DAY)
    assert check_naming(ALICE, BOB, period, NOW, ProxySettings(max_days=7)).rule == (
        "directory.proxy.period_too_long")


@pytest.mark.parametrize(("at", "period", "already", "principal", "rule"), [
    (NOW + DAY, PERIOD, False, ALICE, "directory.proxy.acting"),
    (NOW, PERIOD, False, ALICE, "directory.proxy.acting"),
    (NOW - DAY, PERIOD, False, ALICE, "directory.proxy.outside_period"),
    (NOW + 7 * DAY, PERIOD, False, ALICE, "directory.proxy.outside_period"),
    (NOW + DAY, Period(NOW, NOW + 7 * DAY, revoked=True), False, ALICE,
     "directory.proxy.revoked"),
    (NOW + DAY, None, False, ALICE, "directory.proxy.none"),
    (NOW + DAY, PERIOD, True, ALICE, "directory.proxy.chain"),
    (NOW + DAY, PERIOD, False, Party("a", "user", False), "directory.proxy.principal_inactive"),
], ids=["inside", "first-instant", "before", "at-end", "revoked", "no-proxy", "chain",
        "principal-frozen"])
def test_acting(at, period, already, principal, rule) -> None:
    decision = check_acting(principal, BOB, period, at, already_acting=already)
    assert decision.rule == rule
    assert decision.allowed == (rule == "directory.proxy.acting")


def test_a_proxy_frozen_meanwhile_stops_acting() -> None:
    assert check_acting(ALICE, Party("b", "user", False), PERIOD, NOW + DAY).rule == (
        "directory.proxy.proxy_inactive")
