"""ID numbers and mobiles never reach a log, even with SQL echo on: only ciphertext and
keyed hashes are ever bound into SQL."""

from __future__ import annotations

import logging

from directory import people
from tests import factories as f


def test_sensitive_values_never_logged_even_with_sql_echo(session, dsettings, ctx,
                                                          caplog) -> None:
    mobile, id_number = "13912345678", f.id_number("19790101", seq=555)
    with caplog.at_level(logging.DEBUG, logger="sqlalchemy.engine"):
        with session.begin():
            t = f.qingpu(session, ctx)
            person = f.person(session, dsettings, ctx, t["office"], "周敏",
                              mobile=mobile, id_number=id_number)
        found = people.find_by_mobile(session, dsettings, "+86 139-1234-5678")
    assert found is not None and found.id == person.id
    logged = caplog.text
    assert "INSERT INTO persons" in logged  # echo really was on
    assert mobile not in logged and id_number not in logged
    assert mobile[-8:] not in logged
