"""PATCH (RFC 7644 §3.5.2) applied to a resource document; the result is then written as a
PUT would be, so both share one set of checks.

* ops ``add``, ``remove``, ``replace`` in any case (Entra's legacy ``"Replace"``);
* with a path (``attr``, ``attr.sub``, ``urn:…:attr``, ``attr[filter]``, ``attr[filter].sub``)
  or without one (the value's keys are paths, dotted or URN-qualified: Entra's compliant
  dialect, Okta's ``{"active": false}``);
* ``remove`` with a path and a value list on a multi-valued attribute removes only the listed
  values (Entra's group member removal) and never empties the attribute;
* a value filter that selects nothing: ``replace``/``add`` of a sub-attribute creates the
  element the filter describes (Entra's ``emails[type eq "work"].value``), ``remove`` and a
  whole-element ``replace`` are ``noTarget``;
* a readOnly attribute that would change, or an immutable one that is set, is
  ``mutability`` (RFC 7644 §3.5.2: "readOnly … SHALL return 400 … mutability").
"""

from __future__ import annotations

import copy
import json
from typing import Any

from scim2_filter_parser import ast

from scim import document as d
from scim import errors
from scim import filter as f
from scim import schemas as s

MAX_OPERATIONS = 10_000


def apply(current: dict[str, Any], body: Any, rtype: s.ResourceType) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        raise errors.invalid_syntax("a PatchOp has an Operations list")
    if s.PATCH_OP not in (body.get("schemas") or [s.PATCH_OP]):
        raise errors.invalid_syntax(f"schemas must be [{s.PATCH_OP}]")
    if len(body["Operations"]) > MAX_OPERATIONS:
        raise errors.invalid_syntax("too many operations")
    doc = copy.deepcopy(current)
    for op in body["Operations"]:
        if not isinstance(op, dict):
            raise errors.invalid_syntax("an operation is a JSON object")
        name = str(op.get("op", "")).lower()
        if name not in ("add", "remove", "replace"):
            raise errors.invalid_syntax(f"unknown op '{op.get('op')}'")
        path, value = op.get("path"), op.get("value")
        if path in (None, ""):
            _pathless(doc, name, value, rtype)
        elif not isinstance(path, str):
            raise errors.invalid_path("path is a string")
        elif (ext := _extension(path, rtype)) is not None:
            _whole_extension(doc, name, ext, value, rtype)
        else:
            _apply_known(doc, name, path, value, rtype, strict=True)
    check_mutability(current, doc, rtype)
    return doc


def _extension(path: str, rtype: s.ResourceType) -> s.Schema | None:
    ext = next((x for x in rtype.schemas() if x.id.lower() == path.strip().lower()), None)
    return None if ext is None or ext.id == rtype.schema else ext


def _whole_extension(doc: dict[str, Any], op: str, ext: s.Schema, value: Any,
                     rtype: s.ResourceType) -> None:
    """A path naming an extension schema: its attributes, as a path-less operation would."""
    if op == "remove":
        doc[ext.id] = {}
        return
    _pathless(doc, op, {ext.id: value}, rtype)


def _pathless(doc: dict[str, Any], op: str, value: Any, rtype: s.ResourceType) -> None:
    if op == "remove":
        raise errors.no_target("remove needs a path")
    if not isinstance(value, dict):
        raise errors.invalid_syntax(f"{op} without a path takes an object")
    for key, v in value.items():
        if key.lower() == "schemas":
            continue
        ext = next((x for x in rtype.schemas() if x.id.lower() == key.lower()), None)
        if ext is not None and isinstance(v, dict):
            for k2, v2 in v.items():
                _apply_known(doc, op, f"{ext.id}:{k2}", v2, rtype)
        else:
            _apply_known(doc, op, key, v, rtype)


def _apply_known(doc: dict[str, Any], op: str, key: str, value: Any,
                 rtype: s.ResourceType, strict: bool = False) -> None:
    """Attributes no schema defines (Entra's default mapping sends ``addresses``,
    ``preferredLanguage``, ``name.givenName`` …) are ignored, as on POST and PUT (RFC 7644
    §3.3); a malformed explicit path is still invalidPath."""
    try:
        path = d.parse_path(key, rtype)
    except d.UnknownAttribute:
        return
    except errors.ScimError:
        if strict:
            raise
        return
    if (path.schema.id, path.attr.name) in s.DERIVED:
        return  # computed from other data; what a client sends for them is ignored
    _apply(doc, op, path, value, rtype)


def _apply(doc: dict[str, Any], op: str, path: d.Path, value: Any,
           rtype: s.ResourceType) -> None:
    hold = d.holder(doc, path)
    name = path.attr.name
    if path.attr.multi:
        _multi(hold, op, path, value)
    elif path.attr.sub and path.sub is not None:
        inner = dict(hold.get(name) or {})
        if op == "remove":
            inner.pop(path.sub.name, None)
        else:
            inner[path.sub.name] = d.canonical_value(path.sub, value)
        hold[name] = inner
    elif path.attr.sub:
        if op == "remove":
            hold.pop(name, None)
        else:
            hold[name] = {**(hold.get(name) or {}), **d.canonical_value(path.attr, value)}
    elif op == "remove":
        hold.pop(name, None)
    else:
        hold[name] = d.canonical_value(path.attr, value)


def _key(element: Any) -> Any:
    return element.get("value") if isinstance(element, dict) and "value" in element \
        else json.dumps(element, sort_keys=True)


def _multi(hold: dict[str, Any], op: str, path: d.Path, value: Any) -> None:
    name = path.attr.name
    items: list[Any] = list(hold.get(name) or [])
    if path.filter is not None:
        tree = f.parse_ast(path.filter)
        chosen = [i for i, e in enumerate(items) if matches(tree, e, path.attr)]
        if op == "remove":
            if not chosen:
                raise errors.no_target(f"no value of '{name}' matches the filter")
            if path.sub is not None:
                for i in chosen:
                    items[i] = {k: v for k, v in items[i].items() if k != path.sub.name}
            else:
                items = [e for i, e in enumerate(items) if i not in chosen]
        elif path.sub is not None:
            if not chosen:
                items.append({**_described(tree), path.sub.name: value})
            for i in chosen:
                items[i] = {**items[i], path.sub.name: d.canonical_value(path.sub, value)}
        else:
            if not chosen:
                raise errors.no_target(f"no value of '{name}' matches the filter")
            new = d.canonical_value(path.attr, value)
            for i in chosen:
                items[i] = {**items[i], **(new[0] if new else {})}
    elif op == "remove":
        if value is None or value == []:
            items = []
        else:
            gone = {_key(e) for e in d.canonical_value(path.attr, value)}
            items = [e for e in items if _key(e) not in gone]
    elif path.sub is not None:
        items = [{**e, path.sub.name: value} for e in items] or [{path.sub.name: value}]
    else:
        new = d.canonical_value(path.attr, value) or []
        if op == "replace":
            items = new
        else:
            seen = {_key(e) for e in items}
            items += [e for e in new if _key(e) not in seen]
    hold[name] = _one_primary(items)


def _one_primary(items: list[Any]) -> list[Any]:
    """RFC 7643 §2.4: at most one value is primary; the last one set wins."""
    flagged = [i for i, e in enumerate(items) if isinstance(e, dict) and e.get("primary")]
    for i in flagged[:-1]:
        items[i] = {**items[i], "primary": False}
    return items


def _described(tree: Any) -> dict[str, Any]:
    """The element a filter of ``eq`` terms joined by ``and`` describes."""
    out: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, ast.Filter) and not node.negated:
            walk(node.expr)
        elif isinstance(node, ast.LogExpr) and node.op.lower() == "and":
            walk(node.expr1)
            walk(node.expr2)
        elif isinstance(node, ast.AttrExpr) and node.value.lower() == "eq":
            out[node.attr_path.attr_name] = _literal(node.comp_value.value)
        else:
            raise errors.no_target("no value matches the filter")

    walk(tree)
    return out


def _literal(raw: str) -> Any:
    return json.loads(raw)


def matches(node: Any, element: Any, attr: s.Attr) -> bool:
    """A value filter over one element of a multi-valued attribute, in Python."""
    if isinstance(node, ast.Filter):
        if node.namespace is not None:
            raise errors.invalid_filter("nested value paths are not supported")
        result = matches(node.expr, element, attr)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        operands: list[Any] = []
        ops: list[str] = []
        f._chain(node, operands, ops)
        groups: list[list[Any]] = [[operands[0]]]
        for op, operand in zip(ops, operands[1:], strict=True):
            if op == "or":
                groups.append([])
            groups[-1].append(operand)
        return any(all(matches(o, element, attr) for o in g) for g in groups)
    if not isinstance(node, ast.AttrExpr) or isinstance(node.attr_path.attr_name, ast.AST):
        raise errors.invalid_filter("the filter is not valid here")
    child = attr.child(node.attr_path.attr_name) if attr.sub else None
    if attr.sub and child is None:
        raise errors.invalid_filter(f"unknown attribute '{node.attr_path.attr_name}'")
    have = element.get(child.name) if child and isinstance(element, dict) else element
    return _compare(node.value.lower(), have, node.comp_value, child)


def _compare(op: str, have: Any, comp: Any, attr: s.Attr | None) -> bool:
    if op == "pr":
        return have not in (None, "", [])
    want = _literal(comp.value)
    if isinstance(have, str) and isinstance(want, str) and not (attr and attr.case_exact):
        have, want = have.lower(), want.lower()
    if have is None:
        return op == "ne" and want is not None
    tests = {"eq": lambda: have == want, "ne": lambda: have != want}
    if isinstance(have, str) and isinstance(want, str):
        tests |= {"co": lambda: want in have, "sw": lambda: have.startswith(want),
                  "ew": lambda: have.endswith(want), "gt": lambda: have > want,
                  "ge": lambda: have >= want, "lt": lambda: have < want,
                  "le": lambda: have <= want}
    if op not in tests:
        raise errors.invalid_filter(f"'{op}' does not apply here")
    return bool(tests[op]())


def check_mutability(old: dict[str, Any], new: dict[str, Any], rtype: s.ResourceType) -> None:
    for schema in rtype.schemas():
        core = schema.id == rtype.schema
        before = old if core else old.get(schema.id, {})
        after = new if core else new.get(schema.id, {})
        attrs = (*schema.attributes, *(s.COMMON if core else ()))
        for attr in attrs:
            was, now = before.get(attr.name), after.get(attr.name)
            if attr.mutability == "readOnly" and was != now:
                raise errors.mutability(f"'{attr.name}' is read-only")
            if attr.mutability == "immutable" and was is not None and was != now:
                raise errors.mutability(f"'{attr.name}' cannot change once set")
            if attr.sub and not attr.multi and isinstance(now, dict):
                for sub in attr.sub:
                    if sub.mutability == "readOnly" and (was or {}).get(sub.name) != now.get(
                            sub.name):
                        raise errors.mutability(f"'{attr.name}.{sub.name}' is read-only")
