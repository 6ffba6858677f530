"""Temporary accounts expire: unusable after their date, marked expired by the sweep."""

from __future__ import annotations

import datetime as dt

from directory import accounts
from directory.db import utcnow
from directory.models import AccountStatus
from tests import factories as f


def test_expire_overdue_marks_only_past_temporary_accounts(session, dsettings, ctx) -> None:
    with session.begin():
        t = f.qingpu(session, ctx)
        p1 = f.person(session, dsettings, ctx, t["office"], "临时甲")
        p2 = f.person(session, dsettings, ctx, t["office"], "临时乙")
        soon = accounts.create(session, dsettings, ctx, username="temp-soon",
                               account_type="temporary", person_id=p1.id,
                               expires_at=utcnow() + dt.timedelta(days=1))
        later = accounts.create(session, dsettings, ctx, username="temp-later",
                                account_type="temporary", person_id=p2.id,
                                expires_at=utcnow() + dt.timedelta(days=30))
    in_two_days = utcnow() + dt.timedelta(days=2)
    assert not accounts.usable(soon, in_two_days) and accounts.usable(later, in_two_days)
    with session.begin():
        assert accounts.expire_overdue(session, ctx, in_two_days) == 1
    assert soon.status == AccountStatus.EXPIRED and later.status == AccountStatus.ACTIVE
    with session.begin():
        assert accounts.expire_overdue(session, ctx, in_two_days) == 0
