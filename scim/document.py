"""Resource documents: incoming JSON in canonical form, paths, and attribute projection.

RFC 7643 §2.1: attribute names are case-insensitive; extension attributes live under their
schema URN, or are written as URN-qualified paths (``urn:…:User:employeeNumber``, Entra's
compliant dialect). Attributes no schema of the resource type defines are ignored on input
(RFC 7644 §3.3 leaves them to the server); ``schemas`` is checked by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim import errors
from scim import schemas as s

PATH = re.compile(r"^(?:(?P<uri>urn:[^\[\]]*):)?(?P<attr>[A-Za-z$][\w$-]*)"
                  r"(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$", re.S)


@dataclass(frozen=True)
class Path:
    schema: s.Schema
    attr: s.Attr
    sub: s.Attr | None
    filter: str | None

    @property
    def core(self) -> bool:
        return self.schema.id in (s.USER, s.GROUP, s.ORG_UNIT)


class UnknownAttribute(Exception):
    """A well-formed path to an attribute no schema of the resource type defines."""


def parse_path(text: str, rtype: s.ResourceType) -> Path:
    """A PATCH path (RFC 7644 §3.5.2: ``attrPath / valuePath [subAttr]``). A malformed
    path is invalidPath; an attribute no schema defines raises ``UnknownAttribute``."""
    match = PATH.match(text.strip())
    if match is None:
        raise errors.invalid_path(f"'{text}' is not a valid attribute path")
    uri, name, value_filter, sub = match.group("uri", "attr", "filter", "sub")
    if uri is not None and not any(x.id.lower() == uri.lower() for x in rtype.schemas()):
        raise errors.invalid_path(f"'{uri}' is not a schema of {rtype.name}")
    found = s.resolve(rtype, uri, name, sub)
    if found is None:
        raise UnknownAttribute(text)
    if value_filter is not None and not found.attr.multi:
        raise errors.invalid_path(f"'{found.attr.name}' is not multi-valued")
    return Path(found.schema, found.attr, found.sub, value_filter)


def _coerce(attr: s.Attr, value: Any) -> Any:
    """Lenient scalars of real clients: Entra's ``"True"``/``"False"`` booleans."""
    if attr.type == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def canonical_value(attr: s.Attr, value: Any) -> Any:
    if value is None:
        return None
    if attr.multi:
        items = value if isinstance(value, list) else [value]
        return [canonical_value(attr.single, v) for v in items]
    if attr.sub:
        if not isinstance(value, dict):
            if attr.child("value") is not None:  # members as bare strings (Entra legacy)
                return {"value": value}
            raise errors.invalid_syntax(f"'{attr.name}' is a complex attribute")
        out = {}
        for key, v in value.items():
            child = attr.child(key)
            if child is not None:
                out[child.name] = _coerce(child, v)
        return out
    return _coerce(attr, value)


def canonical(doc: Any, rtype: s.ResourceType) -> dict[str, Any]:
    """The resource document with canonical names; extensions under their URN."""
    if not isinstance(doc, dict):
        raise errors.invalid_syntax("the body is not a JSON object")
    out: dict[str, Any] = {}
    core = s.SCHEMAS[rtype.schema]
    for key, value in doc.items():
        ext = rtype.schema_named(key)
        if ext is not None and ext is not core:
            if not isinstance(value, dict):
                raise errors.invalid_syntax(f"'{key}' must be an object")
            section = out.setdefault(ext.id, {})
            for k, v in value.items():
                attr = ext.attr(k)
                if attr is not None:
                    section[attr.name] = canonical_value(attr, v)
            continue
        if key.lower() == "schemas":
            continue
        found = s.resolve(rtype, None, key)
        if found is not None and found.schema is core:
            out[found.attr.name] = canonical_value(found.attr, value)
        if found is not None and found.attr.name == "name" and isinstance(value, dict):
            # RFC 7643 §4.1.1 name parts: kept to compose displayName, never stored
            parts = {k.lower(): v for k, v in value.items()}
            out["name"].update({k: parts[k.lower()] for k in ("givenName", "familyName")
                                if k.lower() in parts})
    return out


def get(doc: dict[str, Any], path: Path) -> Any:
    holder = doc if path.core else doc.get(path.schema.id, {})
    return holder.get(path.attr.name)


def holder(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    if path.core:
        return doc
    return doc.setdefault(path.schema.id, {})


ALWAYS = {"id", "schemas"}


def project(doc: dict[str, Any], rtype: s.ResourceType, attributes: list[str] | None,
            excluded: list[str] | None) -> dict[str, Any]:
    """RFC 7644 §3.4.2.5 ``attributes`` / ``excludedAttributes``; ``id`` and ``schemas``
    are always returned, unknown names are ignored."""
    if attributes:
        keep = [_target(a, rtype) for a in attributes]
        out: dict[str, Any] = {k: v for k, v in doc.items() if k in ALWAYS}
        for target in keep:
            if target is None:
                continue
            schema, name, sub = target
            src = doc if schema is None else doc.get(schema, {})
            if name not in src:
                continue
            dst = out if schema is None else out.setdefault(schema, {})
            if sub is None:
                dst[name] = src[name]
            elif isinstance(src[name], list):
                dst[name] = [{k: v for k, v in e.items() if k == sub} for e in src[name]]
            elif isinstance(src[name], dict) and sub in src[name]:
                dst.setdefault(name, {})[sub] = src[name][sub]
        return out
    if excluded:
        out = dict(doc)
        for target in (_target(a, rtype) for a in excluded):
            if target is None:
                continue
            schema, name, sub = target
            dst = out if schema is None else dict(out.get(schema, {}))
            if name in ALWAYS and schema is None:
                continue
            if sub is None:
                dst.pop(name, None)
            elif isinstance(dst.get(name), dict):
                dst[name] = {k: v for k, v in dst[name].items() if k != sub}
            if schema is not None:
                out[schema] = dst
        return out
    return doc


def _target(text: str, rtype: s.ResourceType) -> tuple[str | None, str, str | None] | None:
    match = PATH.match(text.strip())
    if match is None or match.group("filter") is not None:
        return None
    found = s.resolve(rtype, match.group("uri"), match.group("attr"), match.group("sub"))
    if found is None:
        return None
    schema = None if found.schema.id == rtype.schema else found.schema.id
    return schema, found.attr.name, found.sub.name if found.sub else None
