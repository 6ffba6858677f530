"""SCIM errors (RFC 7644 §3.12): one exception with the HTTP status and the ``scimType``,
and the one table that maps domain error kinds to them."""

from __future__ import annotations

from typing import Any

from directory.errors import DomainError
from directory.errors import ErrorKind

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """RFC 7644 §3.12: ``status`` and, for 400/409/413 kinds, a ``scimType``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status),
                               "detail": self.detail}
        if self.scim_type:
            out["scimType"] = self.scim_type
        return out


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def no_target(detail: str) -> ScimError:
    return ScimError(400, detail, "noTarget")


def mutability(detail: str) -> ScimError:
    return ScimError(400, detail, "mutability")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def not_found(detail: str = "resource not found") -> ScimError:
    return ScimError(404, detail)


# DomainError kind -> (status, scimType): the one table (ARCHITECTURE.md convention 6).
STATUS_OF_KIND: dict[ErrorKind, tuple[int, str | None]] = {
    ErrorKind.INVALID: (400, "invalidValue"),
    ErrorKind.NOT_FOUND: (404, None),
    ErrorKind.CONFLICT: (409, "uniqueness"),
    ErrorKind.FORBIDDEN: (403, None),
    ErrorKind.PRECONDITION: (400, "invalidValue"),
    ErrorKind.UNAUTHENTICATED: (401, None),
}
# Codes whose meaning differs from their kind's default.
STATUS_OF_CODE: dict[str, tuple[int, str | None]] = {
    "scim.version_mismatch": (412, None),
    "directory.node.not_found": (400, "invalidValue"),
    "directory.person.not_found": (400, "invalidValue"),
    "directory.node.abolished": (400, "invalidValue"),
    "directory.node.cycle": (400, "invalidValue"),
}


def from_domain(exc: DomainError) -> ScimError:
    status, scim_type = STATUS_OF_CODE.get(exc.code, STATUS_OF_KIND[exc.kind])
    field = f" ({exc.field})" if exc.field else ""
    return ScimError(status, f"{exc.code}: {exc.message}{field}", scim_type)
