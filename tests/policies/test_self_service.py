"""What a person changes about themselves (policies.self_service): their email and their
password; everything HR maintains stays with HR; a proxy changes nothing."""

from __future__ import annotations

import pytest

from policies import self_service


@pytest.mark.parametrize(("field", "allowed", "rule"), [
    ("email", True, "self_service.own_email"),
    ("password", True, "self_service.own_password"),
    ("mobile", False, "self_service.administered"),
    ("office_phone", False, "self_service.administered"),
    ("name", False, "self_service.administered"),
    ("posts", False, "self_service.administered"),
    ("visibility_class", False, "self_service.administered"),
    ("rank", False, "self_service.administered"),
    ("id_number", False, "self_service.administered"),
    ("active", False, "self_service.administered"),
], ids=lambda v: v if isinstance(v, str) and "." not in v else None)
def test_fields(field, allowed, rule) -> None:
    assert self_service.check_field(field) == self_service.Decision(allowed, rule)


@pytest.mark.parametrize(("by_proxy", "allowed", "rule"), [
    (False, True, "self_service.own_record"),
    (True, False, "self_service.proxy"),
], ids=["person", "proxy"])
def test_writer(by_proxy, allowed, rule) -> None:
    assert self_service.check_writer(by_proxy) == self_service.Decision(allowed, rule)
