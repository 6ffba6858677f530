"""`idp data-keys rotate`: values written under an old key are re-encrypted under the new
active key, still decrypt, and lookups by mobile keep working."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from directory import accounts
from directory import people
from directory.models import Person
from tests import factories as f
from tests.idp.support import run


def test_rotate_reencrypts_under_active_key(cli_env, sessions, dsettings, ctx) -> None:
    old = dataclasses.replace(dsettings, cipher=dataclasses.replace(
        dsettings.cipher, active_key_id="t0"))
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        p = f.person(s, old, ctx, t["office"], "陆静", mobile="13700001111",
                     id_number=f.id_number(seq=777))
        a = accounts.create(s, old, ctx, username="lujing", account_type="user", person_id=p.id)
        accounts.set_totp_secret(s, old, ctx, a.id, "JBSWY3DPEHPK3PXP")
    result = run(cli_env, "data-keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "persons.mobile: 1 re-encrypted" in result.output
    assert "accounts.totp_secret: 1 re-encrypted" in result.output
    with sessions() as s:
        person = s.scalars(select(Person)).one()
        assert person.mobile_enc.startswith("t1:") and person.id_number_enc.startswith("t1:")
        assert people.reveal(s, dsettings, person, "mobile") == "13700001111"
        assert people.find_by_mobile(s, dsettings, "13700001111").id == person.id
        account = accounts.find_for_login(s, dsettings, "lujing")
        assert accounts.totp_secret(dsettings, account) == "JBSWY3DPEHPK3PXP"
    again = run(cli_env, "data-keys", "rotate")
    assert "persons.mobile: 0 re-encrypted" in again.output
