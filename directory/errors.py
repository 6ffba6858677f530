"""Domain errors: one exception type with a kind and a stable dotted code.

Each adapter (SCIM, OAuth, console, CLI) maps ``kind`` to its own protocol in one
table; tests assert ``code``, never message text.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    PRECONDITION = "precondition"
    UNAUTHENTICATED = "unauthenticated"


class DomainError(Exception):
    """A refused domain operation: nothing was written."""

    def __init__(
        self, kind: ErrorKind, code: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body

    def __repr__(self) -> str:
        return f"DomainError({self.kind.name}, {self.code!r}, field={self.field!r})"


def invalid(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.INVALID, code, message, field=field)


def not_found(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, code, message, field=field)


def forbidden(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.FORBIDDEN, code, message, field=field)


def conflict(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.CONFLICT, code, message, field=field)


def precondition(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.PRECONDITION, code, message, field=field)
