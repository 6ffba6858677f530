"""SCIM filters (RFC 7644 §3.4.2.2) to ``directory.scim_query`` objects through the
attribute allowlist of ``scim.schemas`` (an attribute's ``field``).

* parsed by scim2-filter-parser; its lexer is extended for multi-digit and negative
  numbers and for strings with escaped quotes (JSON strings, RFC 7644 §3.4.2.2);
* "not" binds tighter than "and", which binds tighter than "or" (the library gives "and"
  and "or" one precedence: its chains are regrouped here);
* an unknown attribute, an attribute without a store field (``returned: never``, write
  only, or not stored as a column) and an unknown operator are ``invalidFilter`` with the
  same message shape: the response is no oracle for what exists;
* ``co``/``sw``/``ew``/``gt``… on booleans, and anything but ``eq``/``ne`` on ids and
  enumerations, are ``invalidFilter`` (RFC 7644 Table 3);
* filters longer than ``MAX_LENGTH`` or nested deeper than ``MAX_DEPTH`` are refused before
  any work is done.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from directory import scim_query as q
from scim import errors
from scim import schemas as s

MAX_LENGTH = 4096
MAX_DEPTH = 32
UUID_FIELDS = {"id", "post.node", "member.value", "group.value", "parent", "owner", "manager"}
ENUM_FIELDS = {"gender", "visibility_class", "post.kind", "status", "member.type"}
DATE_FIELDS = {"post.start", "post.end"}
WITHIN = {"post.": "posts", "member.": "members", "group.": "groups"}
OPERATORS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}


class Lexer(SCIMLexer):
    tokens = SCIMLexer.tokens
    NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"

    @_(r'"(?:[^"\\]|\\.)*"')  # type: ignore[name-defined]  # noqa: F821
    def COMP_VALUE(self, t: Any) -> Any:
        return t


def parse_ast(text: str) -> Any:
    if len(text) > MAX_LENGTH:
        raise errors.invalid_filter(f"the filter is longer than {MAX_LENGTH} characters")
    depth = max_depth(text)
    if depth > MAX_DEPTH:
        raise errors.invalid_filter(f"the filter nests deeper than {MAX_DEPTH}")
    try:
        return SCIMParser().parse(Lexer().tokenize(text))
    except Exception as exc:  # the library raises ValueError, its own error, or EOF None
        raise errors.invalid_filter("the filter is not valid SCIM filter syntax") from exc


def max_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    return deepest


def parse(text: str, rtype: s.ResourceType) -> q.Expr:
    tree = parse_ast(text)
    if tree is None:
        raise errors.invalid_filter("the filter is empty")
    return _convert(tree, rtype, None)


def _bare_chain(node: Any) -> bool:
    return (isinstance(node, ast.Filter) and not node.negated and node.namespace is None
            and isinstance(node.expr, ast.LogExpr))


def _chain(node: Any, operands: list[Any], ops: list[str]) -> None:
    """Operands and operators of an unparenthesized and/or chain, left to right."""
    log = node.expr if isinstance(node, ast.Filter) else node
    for i, side in enumerate((log.expr1, log.expr2)):
        if i == 1:
            ops.append(log.op.lower())
        if _bare_chain(side):
            _chain(side, operands, ops)
        else:
            operands.append(side)


def _convert(node: Any, rtype: s.ResourceType, ns: s.Resolved | None) -> q.Expr:
    if isinstance(node, ast.Filter) and node.namespace is not None:
        return _value_path(node, rtype, ns)
    if isinstance(node, ast.Filter):
        inner = _convert(node.expr, rtype, ns)
        return q.Not(inner) if node.negated else inner
    if isinstance(node, ast.LogExpr):
        operands: list[Any] = []
        ops: list[str] = []
        _chain(node, operands, ops)
        groups: list[list[q.Expr]] = [[_convert(operands[0], rtype, ns)]]
        for op, operand in zip(ops, operands[1:], strict=True):
            if op == "or":
                groups.append([])
            groups[-1].append(_convert(operand, rtype, ns))
        terms = [g[0] if len(g) == 1 else q.All(tuple(g)) for g in groups]
        return terms[0] if len(terms) == 1 else q.AnyOf(tuple(terms))
    if isinstance(node, ast.AttrExpr):
        return _attr_expr(node, rtype, ns)
    raise errors.invalid_filter("the filter is not valid SCIM filter syntax")


def _value_path(node: Any, rtype: s.ResourceType, ns: s.Resolved | None) -> q.Expr:
    path = node.namespace
    if ns is not None or isinstance(path.attr_name, ast.AST) or path.sub_attr is not None:
        raise errors.invalid_filter("nested or qualified value paths are not supported")
    found = s.resolve(rtype, path.uri, path.attr_name)
    if found is None or not found.attr.sub:
        raise errors.invalid_filter(f"unknown or unfilterable attribute '{path.attr_name}'")
    inner = _convert(node.expr, rtype, found)
    within = next((w for w in WITHIN.values() if w == found.attr.name), None)
    return q.Within(within, inner) if within else inner


def attr_field(rtype: s.ResourceType, path: Any, ns: s.Resolved | None) -> tuple[str, s.Attr]:
    """The store field and attribute of an attribute path, through the allowlist."""
    if isinstance(path.attr_name, ast.AST):
        raise errors.invalid_filter("a value path cannot be compared")
    sub = path.sub_attr.value if path.sub_attr is not None else None
    label = ".".join(x for x in (path.attr_name, sub) if x)
    if ns is not None:
        attr = ns.attr.child(path.attr_name) if sub is None and path.uri is None else None
    else:
        found = s.resolve(rtype, path.uri, path.attr_name, sub)
        attr = None if found is None else (found.sub or found.attr)
        if attr is not None and attr.sub:  # a complex attribute stands for its value
            attr = attr.child("value")
    if attr is None or attr.field is None or attr.returned == "never":
        raise errors.invalid_filter(f"unknown or unfilterable attribute '{label}'")
    return attr.field, attr


def _value(comp: Any, attr: s.Attr, key: str, op: str) -> Any:
    raw = comp.value
    if raw in ("true", "false"):
        if attr.type != "boolean":
            raise errors.invalid_filter(f"'{attr.name}' is not a boolean")
        return raw == "true"
    if raw == "null":
        return None
    if raw.startswith('"'):
        text = json.loads(raw)
    else:
        if attr.type != "integer" or not re.fullmatch(r"-?[0-9]+", raw):
            raise errors.invalid_filter(f"'{attr.name}' is not compared with a number")
        return int(raw)
    if attr.type in ("boolean", "integer"):
        raise errors.invalid_filter(f"'{attr.name}' is not compared with a string")
    return _typed(text, attr, key, op)


def _typed(text: str, attr: s.Attr, key: str, op: str) -> Any:
    if key in UUID_FIELDS:
        try:
            return uuid.UUID(text)
        except ValueError:
            return _NO_MATCH
    if key in ENUM_FIELDS:
        return text if text in attr.canonical else _NO_MATCH
    try:
        if attr.type == "dateTime":  # RFC 7643 §2.3.5 xsd:dateTime; no offset means UTC
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        if key in DATE_FIELDS:
            return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise errors.invalid_filter(f"'{attr.name}' takes a date or dateTime") from exc
    return text


_NO_MATCH = object()


def _attr_expr(node: Any, rtype: s.ResourceType, ns: s.Resolved | None) -> q.Expr:
    op = node.value.lower()
    if op not in OPERATORS:
        raise errors.invalid_filter(f"unknown operator '{node.value}'")
    key, attr = attr_field(rtype, node.attr_path, ns)
    if op == "pr":
        expr: q.Expr = q.Present(key)
    else:
        value = _value(node.comp_value, attr, key, op)
        restricted = key in UUID_FIELDS or key in ENUM_FIELDS or isinstance(value, bool)
        if restricted and op not in ("eq", "ne"):
            raise errors.invalid_filter(f"'{op}' does not apply to '{attr.name}'")
        if value is _NO_MATCH:
            expr = q.AnyOf(()) if op == "eq" else q.All(())
        else:
            expr = q.Compare(key, op, value, attr.case_exact)
    if ns is None:
        within = next((w for p, w in WITHIN.items() if key.startswith(p)), None)
        if within is not None:
            return q.Within(within, expr)
    return expr


def sort_field(text: str, rtype: s.ResourceType) -> str:
    """sortBy (RFC 7644 §3.4.2.3): a single-valued attribute with a store field."""
    match = re.fullmatch(r"(?:(.+):)?([A-Za-z$][\w$-]*)(?:\.([A-Za-z$][\w$-]*))?", text.strip())
    found = s.resolve(rtype, match.group(1), match.group(2), match.group(3)) if match else None
    attr = None if found is None else (found.sub or found.attr)
    if (found is None or attr is None or attr.field is None or attr.returned == "never"
            or found.attr.multi or attr.sub):
        raise errors.invalid_value(f"unknown or unsortable attribute '{text}'")
    return attr.field
