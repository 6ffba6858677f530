"""The claims an app receives about the signed-in person, per granted scope (OIDC Core
§5.4), for the userinfo endpoint. ID tokens carry only ``sub`` and protocol claims: the
scope claims are served here, since every flow issues an access token (§5.4).

* ``sub``: the account id (stable, not the username, not reassigned).
* ``profile``: name, gender (male/female, omitted when unspecified), preferred_username
  (the account's username), updated_at. No picture: the directory keeps none.
* ``phone``: phone_number, the person's mobile in E.164 (decrypted only here).
* ``email``: email, when the directory has one.
* ``org`` (ours): account_type, visibility_class (Q1–Q4) and the person's active posts
  (node id, node name, node path as names from the root, title, kind), primary first. A
  post under a hidden node is left out unless that hidden node was granted to the app by
  name (the rule of the directory API: apps never see a hidden node otherwise).

Never the national ID number, in any scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import people
from directory import queries
from directory.models import Account
from directory.models import App
from directory.models import AppHiddenGrant
from directory.models import Gender
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.settings import DirectorySettings

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "gender", "preferred_username", "updated_at"),
    "phone": ("phone_number",),
    "email": ("email",),
    "org": ("org",),
}
SUPPORTED_CLAIMS = sorted({c for claims in SCOPE_CLAIMS.values() for c in claims}
                          | {"iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid",
                             "at_hash"})
KIND_ORDER = {"primary": 0, "concurrent": 1, "secondment": 2}


def userinfo(session: Session, settings: DirectorySettings, account: Account,
             scope: frozenset[str], client_id: str) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": str(account.id)}
    person = session.get(Person, account.person_id) if account.person_id else None
    if "profile" in scope:
        claims |= _profile(account, person)
    if "phone" in scope and person is not None:
        mobile = people.reveal(session, settings, person, "mobile")
        if mobile:
            claims["phone_number"] = f"+86{mobile}"
    if "email" in scope and person is not None and person.email:
        claims["email"] = person.email
    if "org" in scope:
        claims["org"] = _org(session, account, person, client_id)
    return claims


def _profile(account: Account, person: Person | None) -> dict[str, Any]:
    out: dict[str, Any] = {"preferred_username": account.username}
    if person is not None:
        out["name"] = person.name
        if person.gender != Gender.UNSPECIFIED:
            out["gender"] = person.gender.value
        out["updated_at"] = int(person.updated_at.timestamp())
    return out


def _org(session: Session, account: Account, person: Person | None,
         client_id: str) -> dict[str, Any]:
    org: dict[str, Any] = {"account_type": account.type.value, "posts": []}
    if person is None:
        return org
    org["visibility_class"] = person.visibility_class.value
    granted = _hidden_grant_paths(session, client_id)
    rows = [(post, node) for post, node in session.execute(
        select(Post, Node).join(Node, Node.id == Post.node_id).where(
            Post.person_id == person.id, Post.active.is_(True)))]
    rows.sort(key=lambda r: (KIND_ORDER.get(r[0].kind.value, 9), r[0].sort_order))
    for post, node in rows:
        if post.hidden_top is not None and not any(
                post.hidden_top.startswith(p) for p in granted):
            continue
        org["posts"].append({
            "node_id": str(node.id), "node_name": node.name,
            "node_path": [n.name for n in queries.ancestors(session, node)],
            "title": post.title, "kind": post.kind.value})
    return org


def _hidden_grant_paths(session: Session, client_id: str) -> list[str]:
    return list(session.scalars(
        select(Node.path).join(AppHiddenGrant, AppHiddenGrant.node_id == Node.id)
        .join(App, App.id == AppHiddenGrant.app_id).where(App.client_id == client_id)))
