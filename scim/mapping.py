"""Directory rows to SCIM JSON (RFC 7643 §4 User and Group, our OrgUnit), read in batches:
one query per kind of related row for a whole page, never one per resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

from directory import scim_queries as related
from directory import scim_store as store
from directory.models import AccountStatus
from directory.models import Node
from directory.models import Person
from directory.models import Tag
from directory.people import reveal
from directory.settings import DirectorySettings
from scim import schemas as s


def etag(version: int) -> str:
    return f'W/"{version}"'


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _meta(kind: str, base: str, endpoint: str, row: Any, modified: Any) -> dict[str, Any]:
    return {"resourceType": kind, "created": _time(row.created_at),
            "lastModified": _time(modified), "location": f"{base}{endpoint}/{row.id}",
            "version": etag(row.version)}


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    """Unassigned attributes are omitted (RFC 7643 §2.5): None, "" and empty lists."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            value = _clean(value)
        if value in (None, "", [], {}):
            continue
        out[key] = value
    return out


def users(session: Any, client: store.Client, settings: DirectorySettings, base: str,
          people: list[Person], made: dict[Any, Any] | None = None,
          listed: dict[Any, tuple[Any, ...]] | None = None) -> list[dict[str, Any]]:
    """Four statements for a whole page: identities (account, userName, enterprise), the
    visible posts with their nodes, the units above those nodes, the groups. ``made``:
    (identity, [(post, node)], {node id: unit}) of Users this request just created (no
    groups yet), not read back; ``listed``: the identity columns of Users a list read with
    them (``scim_store.IDENTITY``), not read again."""
    made, listed = made or {}, listed or {}
    ids = [p.id for p in people if p.id not in made]
    identities = {pid: related.Identity(*listed[pid]) for pid in ids if pid in listed}
    unknown = [pid for pid in ids if pid not in identities]
    if unknown:
        identities.update(related.identities_of(session, unknown))
    posted = related.visible_posts_of(session, client, ids) if ids else {}
    groups = related.groups_of(session, client, ids) if ids else {}
    made_units: dict[Any, Any] = {}
    for pid in {p.id for p in people} & set(made):
        identities[pid], posted[pid], units_at = made[pid]
        made_units.update(units_at)
        groups[pid] = []
    nodes = {n.id: n for pairs in posted.values() for _post, n in pairs}
    units = related.units_of(session, [n for n in nodes.values() if n.id not in made_units])
    units.update(made_units)  # once per node
    docs = []
    for p in people:
        known = identities.get(p.id) or related.Identity(None, None, None, None, None)
        doc = _user(session, settings, base, p, known.user_name or known.username,
                    known.status, [post for post, _n in posted[p.id]], groups[p.id], nodes, units)
        section = doc.setdefault(s.ENTERPRISE, {})
        if known.employee_number:
            section["employeeNumber"] = known.employee_number
        if known.manager_id is not None:
            boss = known.manager_id
            section["manager"] = {"value": str(boss), "$ref": f"{base}/Users/{boss}"}
        docs.append(doc)
    return docs


def _user(session: Any, settings: DirectorySettings, base: str, person: Person,
          user_name: str | None,
          status: AccountStatus | None, posts: list[Any], groups: list[Any], nodes: dict[Any, Any],
          units: dict[Any, Any]) -> dict[str, Any]:
    primary = next((p for p in posts if p.kind.value == "primary"), None)
    primary_node = nodes.get(primary.node_id) if primary else None
    unit = units.get(primary_node.id) if primary_node else None
    mobile = reveal(session, settings, person, "mobile")
    phones = [{"value": mobile, "type": "mobile"} if mobile else None,
              {"value": person.office_phone, "type": "work"} if person.office_phone else None]
    doc = {
        "schemas": [s.USER, s.ENTERPRISE, s.GOV_USER],
        "id": str(person.id),
        "externalId": person.external_id,
        "userName": user_name,
        "name": {"formatted": person.name},
        "displayName": person.name,
        "title": person.position,
        "active": status == AccountStatus.ACTIVE,
        "emails": [{"value": person.email, "type": "work"}]
        if person.email else [],
        "phoneNumbers": [p for p in phones if p],
        "groups": [{"value": str(t.id), "display": t.name, "$ref": f"{base}/Groups/{t.id}"}
                   for t in groups],
        s.ENTERPRISE: {"organization": unit.name if unit else None,
                       "department": primary_node.name if primary_node else None},
        s.GOV_USER: {
            "posts": [_post(p) for p in posts],
            "visibilityClass": person.visibility_class.value,
            "notSearchable": person.not_searchable,
            "staffingType": person.staffing_type, "rank": person.rank,
            "positionLevel": person.position_level,
            "politicalStatus": person.political_status,
            "leadershipDivision": person.leadership_division, "role": person.role,
            "officePhone": person.office_phone, "gender": person.gender.value},
        "meta": _meta("User", base, "/Users", person, person.updated_at),
    }
    out = _clean(doc)
    out["active"] = doc["active"]
    out[s.GOV_USER]["notSearchable"] = person.not_searchable
    return out


def _post(post: Any) -> dict[str, Any]:
    return _clean({"node": str(post.node_id), "title": post.title, "kind": post.kind.value,
                   "start": post.start_date.isoformat() if post.start_date else None,
                   "end": post.end_date.isoformat() if post.end_date else None,
                   "order": post.sort_order})


def org_unit(base: str, node: Node) -> dict[str, Any]:
    doc = _clean({
        "schemas": [s.ORG_UNIT], "id": str(node.id), "externalId": node.external_id,
        "displayName": node.name, "shortName": node.short_name, "code": node.code,
        "parent": str(node.parent_id) if node.parent_id else None,
        "type": node.type, "status": node.status.value,
        "meta": _meta("OrgUnit", base, "/OrgUnits", node, node.updated_at)})
    doc.update({"order": node.sort_order, "level": node.level, "unit": node.is_unit,
                "hidden": node.hidden})
    return doc


def groups(session: Any, client: store.Client, base: str, tags: list[Tag]) -> list[dict]:
    members = related.members_of(session, client, [t.id for t in tags])
    out = []
    for tag in tags:
        shares = related.shares_of(session, tag.id)
        out.append(_clean({
            "schemas": [s.GROUP, s.GOV_GROUP], "id": str(tag.id), "externalId": tag.external_id,
            "displayName": tag.name,
            "members": [{"value": str(mid), "type": kind,
                         "$ref": f"{base}/{'Users' if kind == 'User' else 'OrgUnits'}/{mid}"}
                        for kind, mid, name in members[tag.id]],
            s.GOV_GROUP: {"ownerNode": str(tag.owner_node_id),
                          "sharedWith": [str(n) for n in shares]},
            "meta": _meta("Group", base, "/Groups", tag, tag.created_at)}))
    return out
