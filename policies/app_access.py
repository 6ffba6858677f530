"""Who may sign in to an app (DOMAIN.md §6, 001 §13–§17): "使用范围应按需开放".

Rules, first match wins; each decision names the rule that decided:

1. ``app.unavailable``      the app is neither online nor testing: nobody.
2. ``temporary.listed``     a temporary account (临时账号) reaches exactly the apps listed on
   ``temporary.unlisted``   it by its unit's graded administrator, testing or online.
3. ``testing.tester``       a testing app: only the accounts listed as its testers.
   ``testing.not_tester``
4. ``policy.account_type``  an online app whose policy lists account types refuses the
                            other types.
5. ``policy.subtree``       an online app whose policy lists subtrees or tags admits the
   ``policy.tag``           people with an active post inside one of the subtrees, or
   ``policy.outside``       holding one of the tags; nobody else.
6. ``policy.open``          otherwise (no subtree, no tag listed): everyone left.

Paths are the directory's materialised paths (``Node.path``): a subtree is a prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

USABLE_STATES = frozenset({"online", "testing"})
ACCESS_MODES = frozenset({"sso", "todo", "message"})  # 单点登录 / 统一待办 / 统一消息


@dataclass(frozen=True)
class AccessPolicy:
    """An app's 使用范围: empty means everyone (of the account types listed, if any)."""

    subtrees: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    account_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Subject:
    """The signed-in account: its type, its active posts' node paths, the tags it holds
    (directly or through a tagged node above a post), and where it is listed."""

    account_type: str
    post_paths: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    listed_on_app: bool = False  # a temporary account assigned to this app
    tester: bool = False  # listed as a tester of this app


@dataclass(frozen=True)
class AppView:
    status: str
    policy: AccessPolicy = field(default_factory=AccessPolicy)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str


def _allow(rule: str) -> Decision:
    return Decision(True, rule)


def _deny(rule: str) -> Decision:
    return Decision(False, rule)


def in_subtrees(paths: tuple[str, ...], subtrees: tuple[str, ...]) -> bool:
    return any(p.startswith(s) for p in paths for s in subtrees)


def may_use(subject: Subject, app: AppView) -> Decision:
    """The decision for one account and one app (rules in the module docstring)."""
    if app.status not in USABLE_STATES:
        return _deny("app.unavailable")
    if subject.account_type == "temporary":
        return _allow("temporary.listed") if subject.listed_on_app else _deny(
            "temporary.unlisted")
    if app.status == "testing":
        return _allow("testing.tester") if subject.tester else _deny("testing.not_tester")
    return _online(subject, app.policy)


def _online(subject: Subject, policy: AccessPolicy) -> Decision:
    if policy.account_types and subject.account_type not in policy.account_types:
        return _deny("policy.account_type")
    if not policy.subtrees and not policy.tags:
        return _allow("policy.account_type" if policy.account_types else "policy.open")
    if in_subtrees(subject.post_paths, policy.subtrees):
        return _allow("policy.subtree")
    if subject.tags & policy.tags:
        return _allow("policy.tag")
    return _deny("policy.outside")


def access_modes_problem(modes: tuple[str, ...]) -> str | None:
    """Why a set of access modes is refused, or None."""
    unknown = [m for m in modes if m not in ACCESS_MODES]
    return f"unknown access mode {unknown[0]!r}" if unknown else None
