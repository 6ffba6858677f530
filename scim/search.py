"""Queries (RFC 7644 §3.4.2, §3.4.3) and cursor pages (RFC 9865): parameters checked,
the filter and sortBy through the allowlist, one unit of work, a ListResponse."""

from __future__ import annotations

from typing import Any

from directory import scim_store as store
from scim import cursor
from scim import document as d
from scim import errors
from scim import filter as scim_filter
from scim import schemas as s
from scim.call import Call
from scim.resources import KINDS
from scim.resources import Kind


def _int(value: Any, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise errors.invalid_value(f"{name} is an integer") from exc


def names(value: Any) -> list[str] | None:
    if value in (None, ""):
        return None
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def one_type(kind: Kind, params: dict[str, Any], call: Call, base: str) -> dict[str, Any]:
    """A ListResponse of one resource type (RFC 7644 §3.4.2)."""
    expr = None
    if params.get("filter") not in (None, ""):
        expr = scim_filter.parse(str(params["filter"]), kind.rtype)
    sort = None
    if params.get("sortBy") not in (None, ""):
        sort = scim_filter.sort_field(str(params["sortBy"]), kind.rtype)
    order = str(params.get("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise errors.invalid_value("sortOrder is ascending or descending")
    paging = _paging(params, sort, call)
    with call.unit():
        try:
            page = kind.search(call.session, call.client, expr, sort, order == "descending",
                               paging)
        except store.q.UnknownField as exc:
            raise errors.invalid_filter(f"unknown or unfilterable attribute '{exc}'") from exc
        call.identities.update(page.extras)
        docs = kind.render(call, base, list(page.rows))
    attributes, excluded = names(params.get("attributes")), names(
        params.get("excludedAttributes"))
    resources = [d.project(doc, kind.rtype, attributes, excluded) for doc in docs]
    body: dict[str, Any] = {"schemas": [s.LIST_RESPONSE], "totalResults": page.total,
                            "itemsPerPage": len(resources)}
    if paging.keyset:
        if page.next_after is not None:
            body["nextCursor"] = cursor.encode(call.settings.cipher, page.next_after)
    else:
        body["startIndex"] = paging.start
    body["Resources"] = resources
    return body


def _paging(params: dict[str, Any], sort: str | None, call: Call) -> store.Paging:
    """startIndex/count (RFC 7644 §3.4.2.4) or cursor/count (RFC 9865 §2): ``cursor``
    present, even empty, asks for cursor pages, which run in id order."""
    raw_count = params.get("count")
    count = _int(raw_count, "count", s.DEFAULT_PAGE)
    if "cursor" not in params:
        start = max(1, _int(params.get("startIndex"), "startIndex", 1))
        return store.Paging(start=start, count=min(max(0, count), s.MAX_RESULTS))
    if params.get("startIndex") not in (None, ""):
        raise errors.invalid_value("startIndex and cursor are two kinds of paging: pick one")
    if sort is not None:
        raise errors.invalid_value("cursor pages are in id order: sortBy is not supported")
    if count < 0 or count > s.MAX_RESULTS:
        raise errors.ScimError(400, f"count is 0 to {s.MAX_RESULTS}", "invalidCount")
    after = cursor.decode(call.settings.cipher, params["cursor"])
    return store.Paging(count=count, keyset=True, after=after)


def everything(body: dict[str, Any], call: Call, base: str) -> dict[str, Any]:
    """RFC 7644 §3.4.3 at the root: every resource type, Users then Groups then OrgUnits,
    paged by index over the whole. A filter naming an attribute a type lacks selects
    nothing of that type; one that fits no type is invalidFilter. No sortBy or cursor."""
    if body.get("sortBy") or "cursor" in body:
        raise errors.invalid_value("a search of every resource type takes no sortBy or cursor")
    exprs: dict[str, Any] = {}
    for name, kind in KINDS.items():
        try:
            exprs[name] = scim_filter.parse(str(body["filter"]), kind.rtype) \
                if body.get("filter") not in (None, "") else None
        except errors.ScimError:
            continue
    if not exprs:
        raise errors.invalid_filter("the filter fits no resource type")
    paging = _paging(body, None, call)
    found: list[dict[str, Any]] = []
    skip, room = paging.start - 1, paging.count
    total = 0
    with call.unit():
        for name, expr in exprs.items():
            kind = KINDS[name]
            page = kind.search(call.session, call.client, expr, None, False, store.Paging(
                start=skip + 1, count=room))
            call.identities.update(page.extras)
            total += page.total
            skip = max(0, skip - page.total)
            room -= len(page.rows)
            found += [d.project(doc, kind.rtype, names(body.get("attributes")),
                                names(body.get("excludedAttributes")))
                      for doc in kind.render(call, base, list(page.rows))]
    return {"schemas": [s.LIST_RESPONSE], "totalResults": total, "itemsPerPage": len(found),
            "startIndex": paging.start, "Resources": found}
