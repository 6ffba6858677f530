"""An app's life (001 §13–§19): every allowed and refused transition, and who gets tokens."""

from __future__ import annotations

import itertools

import pytest

from policies.apps import TRANSITIONS
from policies.apps import may_issue_tokens
from policies.apps import may_transition
from policies.apps import may_use_client_credentials

STATES = sorted(TRANSITIONS)
ALLOWED = {("applied", "approved"), ("applied", "rejected"), ("approved", "testing"),
           ("testing", "online"), ("online", "offline"), ("offline", "online")} | {
    (s, "deregistered") for s in STATES if s != "deregistered"}


@pytest.mark.parametrize("old,new", list(itertools.product(STATES, STATES)),
                         ids=lambda x: x)
def test_transitions(old, new) -> None:
    assert may_transition(old, new) is ((old, new) in ALLOWED)


@pytest.mark.parametrize("state", STATES)
def test_only_online_and_testing_apps_obtain_tokens(state) -> None:
    assert may_issue_tokens(state) is (state in ("online", "testing"))
    assert may_use_client_credentials(state) is (state == "online")
