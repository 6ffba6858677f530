"""Validation and normalisation of national ID numbers and mainland mobiles."""

from __future__ import annotations

import datetime as dt
import re

from directory.errors import invalid

# GB 11643-1999 §8.2: weights of the 17 body digits and the check-character table.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_SHAPE = re.compile(r"^1[3-9]\d{9}$")


def id_check_char(body17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(value: str, field: str = "id_number") -> str:
    """An 18-character citizen ID (GB 11643): shape, birth date and check character."""
    text = value.strip().upper()
    if not _ID_SHAPE.match(text):
        raise invalid("directory.person.id_number_format", "ID number must be 18 characters", field)
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise invalid(
            "directory.person.id_number_birthdate", "ID number has an invalid birth date", field
        ) from exc
    if id_check_char(text[:17]) != text[17]:
        raise invalid(
            "directory.person.id_number_checksum", "ID number check character is wrong", field
        )
    return text


def normalise_mobile(value: str, field: str = "mobile") -> str:
    """A mainland mobile: 11 digits starting 13–19; '+86', '0086', spaces and dashes allowed."""
    text = re.sub(r"[\s\-()]", "", value)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not _MOBILE_SHAPE.match(text):
        raise invalid("directory.person.mobile_format", "not a mainland mobile number", field)
    return text
