"""An app's application form, its testers and its 使用范围 (DOMAIN.md §6, #4): storage and
loading for ``policies.app_access``, which decides.

* ``set_profile``: the fields of 001's form 1.1 (and 1.2's URL and icon) and the
  back-channel logout URI, validated and audited (``app.profile_changed``).
* ``set_testers`` and ``set_policy``: replace the lists, audited.
* ``decide``: the policy decision for a stored account and app; ``portal_apps``: the
  online apps an account may open.

Callers have checked the admin's grant (``policies.delegation``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import audit
from directory import queries
from directory import tree
from directory.errors import invalid
from directory.models import Account
from directory.models import AccountApp
from directory.models import AccountType
from directory.models import App
from directory.models import AppAccessNode
from directory.models import AppAccessTag
from directory.models import AppAccessType
from directory.models import AppStatus
from directory.models import AppTester
from directory.models import BrowserSession
from directory.models import Node
from directory.models import OAuthGrant
from directory.models import Tag
from directory.models import TagMember
from policies import app_access as policy
from policies.transport import is_loopback

TEXT_FIELDS = {"contact_name": 100, "contact_phone": 40, "contact_email": 254,
               "tech_lead_name": 100, "tech_lead_phone": 40, "remarks": 2000}
URL_FIELDS = ("url", "icon_url", "backchannel_logout_uri")
PROFILE_FIELDS = (*TEXT_FIELDS, *URL_FIELDS, "access_modes", "needs_user_sync",
                  "planned_date")


def check_url(field: str, value: str) -> str:
    """An absolute http(s) URL of at most 500 characters; the back-channel logout URI
    (Back-Channel Logout 1.0 §2.2) must be https, or http on loopback only."""
    parts = urlsplit(value)
    ok = (len(value) <= 500 and parts.scheme in ("http", "https") and bool(parts.hostname)
          and not parts.fragment and not any(c.isspace() for c in value))
    if ok and field == "backchannel_logout_uri" and parts.scheme == "http":
        ok = is_loopback(parts.hostname)
    if not ok:
        raise invalid(f"directory.app.{field}",
                      f"{field} must be an absolute https URL"
                      + (" (http only on loopback)" if field == "backchannel_logout_uri"
                         else ""), field)
    return value


def _value(field: str, value: Any) -> Any:
    """One profile field, checked; None clears it."""
    if value is None:
        return None
    if field in TEXT_FIELDS:
        if not isinstance(value, str) or len(value) > TEXT_FIELDS[field]:
            raise invalid(f"directory.app.{field}",
                          f"{field} is text of at most {TEXT_FIELDS[field]} characters", field)
        return value.strip() or None
    if field in URL_FIELDS:
        return check_url(field, str(value))
    if field == "access_modes":
        modes = tuple(value) if isinstance(value, list | tuple) else ()
        problem = policy.access_modes_problem(modes) if modes or value == [] else "a list"
        if problem is not None or not all(isinstance(m, str) for m in modes):
            raise invalid("directory.app.access_modes",
                          "access_modes is a list of sso, todo, message", field)
        return " ".join(dict.fromkeys(modes))
    if field == "needs_user_sync":
        if not isinstance(value, bool):
            raise invalid("directory.app.needs_user_sync", "true or false", field)
        return value
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise invalid("directory.app.planned_date", "a date (YYYY-MM-DD)", field) from exc


def set_profile(session: Session, ctx: audit.Context, app: App,
                changes: Mapping[str, Any]) -> App:
    """Change the given fields of the application form (others untouched)."""
    unknown = [k for k in changes if k not in PROFILE_FIELDS and k != "name"]
    if unknown:
        raise invalid("directory.app.unknown_field", f"unknown field {unknown[0]!r}",
                      unknown[0])
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise invalid("directory.app.name", "name is 1 to 200 characters", "name")
        app.name = name.strip()
    for field in PROFILE_FIELDS:
        if field in changes:
            setattr(app, field, _value(field, changes[field]))
    session.flush()
    audit.record(session, "app.profile_changed", ctx, target_type="app", target_id=app.id,
                 summary={"fields": sorted(changes)})
    return app


def profile(app: App) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(app, f) for f in (*TEXT_FIELDS, *URL_FIELDS,
                                                      "needs_user_sync")}
    out["access_modes"] = (app.access_modes or "").split()
    out["planned_date"] = app.planned_date.isoformat() if app.planned_date else None
    return out


# -- testers and access policy -----------------------------------------------------------


def testers(session: Session, app: App) -> list[Account]:
    return list(session.scalars(select(Account).join(
        AppTester, AppTester.account_id == Account.id).where(
        AppTester.app_id == app.id).order_by(Account.username)))


def set_testers(session: Session, ctx: audit.Context, app: App,
                account_ids: list[uuid.UUID]) -> list[Account]:
    found = []
    for account_id in dict.fromkeys(account_ids):
        account = session.get(Account, account_id)
        if account is None or account.type == AccountType.SERVICE:
            raise invalid("directory.app.tester", f"no account {account_id}", "tester_ids")
        found.append(account)
    session.execute(delete(AppTester).where(AppTester.app_id == app.id))
    session.add_all([AppTester(app_id=app.id, account_id=a.id) for a in found])
    session.flush()
    audit.record(session, "app.testers_changed", ctx, target_type="app", target_id=app.id,
                 summary={"testers": [str(a.id) for a in found]})
    return found


def access_lists(session: Session, app: App) -> tuple[list[Node], list[Tag], list[str]]:
    """(subtrees, tags, account types) of the app's policy."""
    nodes = session.scalars(select(Node).join(AppAccessNode, AppAccessNode.node_id == Node.id)
                            .where(AppAccessNode.app_id == app.id).order_by(Node.path))
    tags = session.scalars(select(Tag).join(AppAccessTag, AppAccessTag.tag_id == Tag.id)
                           .where(AppAccessTag.app_id == app.id).order_by(Tag.name))
    types = session.scalars(select(AppAccessType.account_type)
                            .where(AppAccessType.app_id == app.id))
    return list(nodes), list(tags), sorted(t.value for t in types)


def load_policy(session: Session, app: App) -> policy.AccessPolicy:
    nodes, tags, types = access_lists(session, app)
    return policy.AccessPolicy(subtrees=tuple(n.path for n in nodes),
                               tags=frozenset(str(t.id) for t in tags),
                               account_types=frozenset(types))


def set_policy(session: Session, ctx: audit.Context, app: App, *,
               node_ids: list[uuid.UUID], tag_ids: list[uuid.UUID],
               account_types: list[str]) -> None:
    """Replace the app's 使用范围 (empty lists: everyone)."""
    nodes = [tree.get_active(session, n, "node_ids") for n in dict.fromkeys(node_ids)]
    tags = []
    for tag_id in dict.fromkeys(tag_ids):
        tag = session.get(Tag, tag_id)
        if tag is None:
            raise invalid("directory.app.access_tag", f"no tag {tag_id}", "tag_ids")
        tags.append(tag)
    types = list(dict.fromkeys(account_types))
    if any(t not in {a.value for a in AccountType} for t in types):
        raise invalid("directory.app.access_type", "unknown account type", "account_types")
    for table in (AppAccessNode, AppAccessTag, AppAccessType):
        session.execute(delete(table).where(table.app_id == app.id))
    session.add_all([AppAccessNode(app_id=app.id, node_id=n.id) for n in nodes])
    session.add_all([AppAccessTag(app_id=app.id, tag_id=t.id) for t in tags])
    session.add_all([AppAccessType(app_id=app.id, account_type=AccountType(t)) for t in types])
    session.flush()
    audit.record(session, "app.access_policy_changed", ctx, target_type="app",
                 target_id=app.id, summary={"nodes": [str(n.id) for n in nodes],
                                            "tags": [str(t.id) for t in tags],
                                            "account_types": types})


# -- decisions ---------------------------------------------------------------------------


def _paths_and_tags(session: Session, account: Account
                    ) -> tuple[tuple[str, ...], frozenset[str]]:
    """The account's active posts' node paths and the tags it holds, directly or
    through a tagged node at or above one of its posts."""
    if account.person_id is None:
        return (), frozenset()
    paths = tuple(p.node_path for p in queries.active_posts(session, account.person_id))
    above = sorted({a for p in paths for a in queries.ancestor_paths(p)})
    conditions = [TagMember.person_id == account.person_id]
    if above:
        conditions.append(TagMember.node_id.in_(select(Node.id).where(Node.path.in_(above))))
    tags = frozenset(str(t) for t in session.scalars(
        select(TagMember.tag_id).where(or_(*conditions)).distinct()))
    return paths, tags


def subject(session: Session, account: Account, app: App) -> policy.Subject:
    """What the policy needs to know of an account, for one app."""
    paths, tags = _paths_and_tags(session, account)
    listed = session.scalar(select(exists().where(
        AccountApp.account_id == account.id, AccountApp.app_id == app.id)))
    tester = session.scalar(select(exists().where(
        AppTester.account_id == account.id, AppTester.app_id == app.id)))
    return policy.Subject(account_type=account.type.value, post_paths=paths, tags=tags,
                          listed_on_app=bool(listed), tester=bool(tester))


def decide(session: Session, account: Account, app: App) -> policy.Decision:
    view = policy.AppView(status=app.status.value, policy=load_policy(session, app))
    return policy.may_use(subject(session, account, app), view)


def _policies(session: Session, app_ids: list[uuid.UUID]) -> dict[uuid.UUID,
                                                                 policy.AccessPolicy]:
    """The access policies of many apps in three queries."""
    nodes: dict[uuid.UUID, list[str]] = {}
    tags: dict[uuid.UUID, set[str]] = {}
    types: dict[uuid.UUID, set[str]] = {}
    for app_id, path in session.execute(select(AppAccessNode.app_id, Node.path).join(
            Node, Node.id == AppAccessNode.node_id).where(AppAccessNode.app_id.in_(app_ids))):
        nodes.setdefault(app_id, []).append(path)
    for app_id, tag_id in session.execute(select(AppAccessTag.app_id, AppAccessTag.tag_id)
                                          .where(AppAccessTag.app_id.in_(app_ids))):
        tags.setdefault(app_id, set()).add(str(tag_id))
    for app_id, kind in session.execute(select(AppAccessType.app_id, AppAccessType.account_type)
                                        .where(AppAccessType.app_id.in_(app_ids))):
        types.setdefault(app_id, set()).add(kind.value)
    return {a: policy.AccessPolicy(subtrees=tuple(sorted(nodes.get(a, []))),
                                   tags=frozenset(tags.get(a, set())),
                                   account_types=frozenset(types.get(a, set())))
            for a in app_ids}


def portal_apps(session: Session, account: Account) -> list[App]:
    """The online apps the account may open, by name (统一移动工作门户): the same
    decision as ``decide``, with the account read once and the policies in bulk."""
    online = list(session.scalars(select(App).where(App.status == AppStatus.ONLINE)
                                  .order_by(App.name, App.client_id)))
    if not online:
        return []
    paths, tags = _paths_and_tags(session, account)
    listed = set(session.scalars(select(AccountApp.app_id).where(
        AccountApp.account_id == account.id)))
    policies = _policies(session, [a.id for a in online])
    return [app for app in online if policy.may_use(
        policy.Subject(account_type=account.type.value, post_paths=paths, tags=tags,
                       listed_on_app=app.id in listed),
        policy.AppView(status=app.status.value, policy=policies[app.id])).allowed]


# -- back-channel logout -----------------------------------------------------------------


def live_session_clients(session: Session, account_id: uuid.UUID) -> list[tuple[str, str]]:
    """(client_id, session id) of the account's live grants born of a browser session
    that has not ended (an ended one's apps were told when it ended): read before a
    freeze or deactivation revokes them, for back-channel logout after the commit."""
    rows = session.execute(select(OAuthGrant.client_id, OAuthGrant.session_id).join(
        BrowserSession, BrowserSession.id == OAuthGrant.session_id).where(
        OAuthGrant.account_id == account_id, OAuthGrant.revoked_at.is_(None),
        BrowserSession.ended_at.is_(None))).all()
    return sorted({(c, s) for c, s in rows if s is not None})


def session_clients(session: Session, session_id: str) -> list[str]:
    """The clients holding a live grant born of one browser session."""
    return sorted(set(session.scalars(select(OAuthGrant.client_id).where(
        OAuthGrant.session_id == session_id, OAuthGrant.revoked_at.is_(None)))))


def backchannel_uris(session: Session, client_ids: list[str]) -> dict[str, str]:
    """client_id → back-channel logout URI, for the apps that registered one."""
    if not client_ids:
        return {}
    rows = session.execute(select(App.client_id, App.backchannel_logout_uri).where(
        App.client_id.in_(sorted(set(client_ids))), App.backchannel_logout_uri.is_not(None)))
    return {c: u for c, u in rows if u}
