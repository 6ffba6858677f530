"""Users (RFC 7643 §4.1) written through the domain commands: ``people`` (fields, posts,
deactivation), ``accounts`` (userName, password, freeze). Each command records its own
audit event with the client as actor.

* ``active: false`` freezes the account exactly as ``accounts.freeze`` (every session and
  grant revoked in the same transaction); ``active: true`` unfreezes it;
* DELETE deactivates (注销) with reason ``other`` noted as removed by the client; the record
  stays and is no longer visible to SCIM (RFC 7644 §3.6);
* posts: exactly one primary; a User created without posts gets its primary post at the
  client's unit (or first scope node); every post's node must be visible to the client.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import fields
from typing import Any

from directory import accounts
from directory import people
from directory import scim_commands as commands
from directory import scim_queries as related
from directory import scim_store as store
from directory.errors import DomainError
from directory.models import AccountStatus
from directory.models import Person
from directory.models import PostKind
from scim import errors
from scim import posts
from scim import schemas as s
from scim.call import Call
from scim.call import as_text

TEXT_FIELDS = ("office_phone", "email", "rank", "position", "position_level",
               "political_status", "leadership_division", "role", "external_id")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: what str.isspace() calls space
GOV_KEYS = {"gender": "gender", "staffing_type": "staffingType", "rank": "rank",
            "position_level": "positionLevel", "political_status": "politicalStatus",
            "leadership_division": "leadershipDivision", "role": "role",
            "visibility_class": "visibilityClass", "not_searchable": "notSearchable",
            "id_number": "nationalIdNumber"}













def _pick(items: Any, kind: str | None) -> str | None:
    if not isinstance(items, list):
        return None
    values = [e for e in items if isinstance(e, dict) and e.get("value")]
    if kind is not None:
        values = [e for e in values if str(e.get("type") or kind).lower() == kind]
    chosen = next((e for e in values if e.get("primary")), values[0] if values else None)
    return as_text(chosen.get("value"), "value") if chosen else None


def wanted(doc: dict[str, Any]) -> dict[str, Any]:
    """Person fields a document asks for (None: not given)."""
    gov = doc.get(s.GOV_USER, {})
    parts = doc.get("name") or {}
    composed = _compose(parts.get("familyName"), parts.get("givenName"))
    name = doc.get("displayName") or parts.get("formatted") or composed
    out: dict[str, Any] = {
        "name": as_text(name, "displayName"), "email": _pick(doc.get("emails"), None),
        "mobile": _pick(doc.get("phoneNumbers"), "mobile"),
        "office_phone": as_text(gov.get("officePhone"), "officePhone")
        or _pick(doc.get("phoneNumbers"), "work"),
        "position": as_text(doc.get("title"), "title"),
        "external_id": as_text(doc.get("externalId"), "externalId")}
    for key, attr in GOV_KEYS.items():
        value = gov.get(attr)
        if key == "not_searchable":
            if value is not None and not isinstance(value, bool):
                raise errors.invalid_value("'notSearchable' is a boolean")
            out[key] = value
        else:
            out[key] = as_text(value, attr)
    return out


def _compose(family: Any, given: Any) -> str | None:
    """A full name from its parts: 张 + 伟 → 张伟; Isaac + Brock → Isaac Brock."""
    family, given = as_text(family, "familyName"), as_text(given, "givenName")
    if not family and not given:
        return None
    if any("\u4e00" <= c <= "\u9fff" for c in (family or "") + (given or "")):
        return f"{family or ''}{given or ''}"
    return " ".join(x for x in (given, family) if x)


def set_enterprise(call: Call, person: Person, doc: dict[str, Any], *,
                   new: bool = False) -> None:
    """employeeNumber and manager (RFC 7643 §4.3); Entra's legacy dialect sends the
    manager as a bare id string, read as its value."""
    section = doc.get(s.ENTERPRISE, {})
    number = as_text(section.get("employeeNumber"), "employeeNumber") or None
    manager = section.get("manager") or {}
    manager_ref = as_text(manager.get("value"), "manager") or None
    boss = None
    if manager_ref is not None:
        boss = store.person(call.session, call.client, manager_ref)
        if boss is None or boss.id == person.id:
            raise errors.invalid_value("manager names a User that does not exist")
    current_number, current_boss = (None, None) if new else related.enterprise_of(
        call.session, [person.id]).get(person.id, (None, None))
    boss_id = boss.id if boss else None
    if (number, boss_id) != (current_number, current_boss.id if current_boss else None):
        commands.set_enterprise(call.session, call.ctx, person.id, number, boss_id)


def _check_external_id(call: Call, value: str | None, person_id: uuid.UUID | None) -> None:
    if value and store.external_id_taken(call.session, call.client, Person, value, person_id):
        raise errors.uniqueness("externalId is already used by this client")








def check_user_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid_value("userName is required")
    text = value.strip()
    if len(text) > 255 or _SPACE_OR_CONTROL.search(text):
        raise errors.invalid_value("userName: at most 255 characters, no spaces")
    return text


def account_names(user_name: str) -> list[str]:
    """Login names for the account behind a SCIM userName, best first: the userName itself
    when it fits the account rule, else a readable derivation (``a.b@x.cn`` → ``a.b.x.cn``),
    then that with a random suffix."""
    base = re.sub(r"[^a-z0-9._-]+", ".", user_name.lower()).strip("._-")[:56] or "user"
    if len(base) < 3:
        base = f"{base}-user"
    candidates = [base, *(f"{base}-{secrets.token_hex(3)}" for _ in range(3))]
    return [name for name in candidates if accounts.USERNAME.match(name)]


def create_account(call: Call, person_id: uuid.UUID, user_name: str,
                   password: str | None = None) -> Any:
    """The person's account under the first free name: ``accounts.create`` checks the name
    before it writes anything, so a taken one is simply the next candidate's turn."""
    for name in account_names(user_name):
        try:
            return accounts.create(call.session, call.settings, call.ctx, username=name,
                                   account_type="user", person_id=person_id,
                                   password=password, must_change_password=True)
        except DomainError as exc:
            if exc.code != "directory.account.username_taken":
                raise
    raise errors.uniqueness("no free account name for this userName")


def check_active(doc: dict[str, Any]) -> bool | None:
    value = doc.get("active")
    if value is not None and not isinstance(value, bool):
        raise errors.invalid_value("'active' is a boolean")
    return value


def wanted_posts(call: Call, doc: dict[str, Any]) -> list[posts.PostWish]:
    """The posts a new User asks for; none asked: a primary post at the client's home
    node (the top of its scope), read with its lineage as a named OrgUnit is."""
    wishes = posts.wanted(call, doc)
    if wishes is not None:
        return wishes
    home = call.client.home
    node = posts.visible_node(call, str(home.id)) if home is not None else None
    if node is None:
        raise errors.invalid_value("the client has no scope to place a User in")
    return [posts.PostWish("primary", node.id, None, 0, None, None)]


def create(call: Call, doc: dict[str, Any]) -> Person:
    user_name = check_user_name(doc.get("userName"))
    check_active(doc)
    if store.user_name_taken(call.session, user_name):
        raise errors.uniqueness("userName is taken")
    values = wanted(doc)
    _check_external_id(call, values["external_id"], None)
    wishes = wanted_posts(call, doc)
    data = people.PersonData(**{k: v for k, v in values.items() if v is not None})
    primary = next(w for w in wishes if w.kind == "primary")
    person = people.add(call.session, call.settings, call.ctx, data,
                        people.PostSpec(primary.node_id, primary.title, primary.order))
    posts.add(call, person.id, [w for w in wishes if w.kind != "primary"])
    commands.set_user_name(call.session, call.ctx, person.id, user_name, new=True)
    set_enterprise(call, person, doc, new=True)
    account = create_account(call, person.id, user_name, as_text(doc.get("password"), "password"))
    if doc.get("active") is False:
        accounts.freeze(call.session, call.ctx, account.id)
    return person








def check_writable(call: Call, person: Person) -> None:
    """A client changes only people whose primary post is in its scope; it reads anyone
    with a post there (their other posts stay invisible and untouched)."""
    if not any(p.kind == PostKind.PRIMARY for p in posts.visible(call, person)):
        raise errors.ScimError(403, "the person's primary post is outside the client's scope")


def replace(call: Call, person: Person, doc: dict[str, Any]) -> None:
    """PUT (RFC 7644 §3.5.1), and the result of a PATCH: readOnly values are ignored."""
    check_writable(call, person)
    account = store.account_of(call.session, person.id)
    user_name = doc.get("userName")
    current = related.user_names(call.session, [person.id]).get(person.id) or (
        account.username if account is not None else None)
    if current is not None and isinstance(user_name, str) \
            and user_name.strip().lower() != current.lower():
        raise errors.mutability("userName cannot change")
    _update_fields(call, person, wanted(doc))
    wishes = posts.wanted(call, doc)
    if wishes is not None:
        posts.update(call, person, wishes)
    set_enterprise(call, person, doc)
    if account is None and isinstance(user_name, str):
        user_name = check_user_name(user_name)
        if store.user_name_taken(call.session, user_name):
            raise errors.uniqueness("userName is taken")
        commands.set_user_name(call.session, call.ctx, person.id, user_name)
        account = create_account(call, person.id, user_name)
    if account is not None:
        if isinstance(doc.get("password"), str):
            accounts.set_password(call.session, call.settings, call.ctx, account.id,
                                  doc["password"], must_change=True)
        active = check_active(doc)
        if active is False and account.status == AccountStatus.ACTIVE:
            accounts.freeze(call.session, call.ctx, account.id)
        elif active is True and account.status == AccountStatus.FROZEN:
            accounts.unfreeze(call.session, call.ctx, account.id)


def _update_fields(call: Call, person: Person, values: dict[str, Any]) -> None:
    _check_external_id(call, values["external_id"], person.id)
    changes: dict[str, Any] = {}
    for f in fields(people.PersonData):
        value = values.get(f.name)
        if f.name in ("mobile", "id_number"):
            if value is not None and (f.name == "id_number" or value != people.reveal(
                    call.session, call.settings, person, "mobile")):
                changes[f.name] = value
            continue
        current = getattr(person, f.name)
        current = getattr(current, "value", current)
        if value is None and f.name in TEXT_FIELDS and current:
            value = ""  # PUT: an omitted attribute is cleared
        if value is not None and value != current:
            changes[f.name] = value
    if changes:
        people.update(call.session, call.settings, call.ctx, person.id,
                      people.PersonData(**changes))





def delete(call: Call, person: Person) -> None:
    check_writable(call, person)
    people.deactivate(call.session, call.ctx, person.id, "other",
                      note=f"removed by SCIM client {call.client.app.client_id}")
