"""What a signed-in person may change about themselves (self-service: SCIM ``/Me``).

Real-name management (实名制) gives a person's record to HR and the administrators: "人员的
加入、信息修改、注销等操作由所在单位系统管理员统一审核、执行" (000 §8); HR keeps name, gender,
mobile, staffing type, rank, political status, role, position, position level, office
phone and leadership division complete and accurate (000 §9; 001 §7 and 组织人员规范 §9 add
the ID number and the posts); a changed mobile goes to the information centre (002 §14).
What is left to the person:

* their password, which its owner changes at first login and periodically (003 §15);
* their email, contact data that no seed gives to HR.

Not the mobile, though some platforms let people correct it (003 §11): it is a login name
(004 §二.2) and unique, so setting it would also tell a person whose number another one is,
the lookup 不可搜不可加 forbids (001 组织人员规范 §10). Not ``active``: a person freezes their
own account on the account page, where they signed in, not through an app (DOMAIN.md §3).
Nobody registers or deactivates themselves (000 §8, 004 §二.6).

A proxy (代理人员, 003 §16) acts in the principal's work, never as their identity: a
proxy's token changes nothing of the principal's own record.
"""

from __future__ import annotations

from dataclasses import dataclass

# Person and account fields a person changes themselves; every other one is administered.
SELF_SERVICE = frozenset({"email", "password"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # the rule that decided: a stable dotted code


def check_writer(by_proxy: bool) -> Decision:
    """May this token change its subject's own record at all?"""
    if by_proxy:
        return Decision(False, "self_service.proxy")
    return Decision(True, "self_service.own_record")


def check_field(field: str) -> Decision:
    """May a person change this field of their own record (``SELF_SERVICE``)?"""
    if field in SELF_SERVICE:
        return Decision(True, f"self_service.own_{field}")
    return Decision(False, "self_service.administered")
