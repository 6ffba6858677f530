"""``idp demo``: a demo jurisdiction modelled on Qingpu, built through the domain commands
(so every write is validated and audited exactly as in production)."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from dataclasses import dataclass
from dataclasses import field

import pyotp
from sqlalchemy.orm import Session

from directory import accounts
from directory import audit
from directory import people
from directory import queries
from directory import tags
from directory import tree
from directory.identifiers import id_check_char
from directory.models import Node
from directory.passwords import hash_password
from directory.settings import DirectorySettings
from idp import demo_data as data

CTX = audit.Context(actor="cli:demo")
STAFF_PER_BODY = (5, 7)


@dataclass
class DemoResult:
    admin_username: str
    admin_password: str
    admin_totp_secret: str
    user_password: str
    people: int = 0
    nodes: int = 0
    samples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class _Names:
    """Realistic, unique-enough Chinese names, mobiles and ID numbers from a seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.surnames = [s for s, _ in data.SURNAMES]
        self.weights = [w for _, w in data.SURNAMES]
        self.mobiles: set[str] = set()
        self.ids: set[str] = set()

    def person(self) -> dict[str, str]:
        gender = self.rng.choice(["male", "female"])
        chars = data.GIVEN_NAME_CHARS_MALE if gender == "male" else data.GIVEN_NAME_CHARS_FEMALE
        given = "".join(self.rng.choice(chars) for _ in range(self.rng.choice((1, 2, 2, 2))))
        surname = self.rng.choices(self.surnames, self.weights)[0]
        return {"name": surname + given, "gender": gender, "mobile": self._mobile(),
                "id_number": self._id_number(gender)}

    def _mobile(self) -> str:
        while True:
            m = self.rng.choice(["138", "139", "135", "136", "137", "150", "151", "158", "159",
                                 "186", "187", "189", "177", "199"]) + f"{self.rng.randrange(10**8):08d}"
            if m not in self.mobiles:
                self.mobiles.add(m)
                return m

    def _id_number(self, gender: str) -> str:
        while True:
            birth = dt.date(1962, 1, 1) + dt.timedelta(days=self.rng.randrange(365 * 38))
            seq = self.rng.randrange(0, 999)
            seq += (seq % 2 == 0) if gender == "male" else (seq % 2 == 1)  # GB 11643: odd = male
            body = f"310118{birth:%Y%m%d}{seq % 1000:03d}"
            number = body + id_check_char(body)
            if number not in self.ids:
                self.ids.add(number)
                return number


class _Builder:
    def __init__(self, session: Session, settings: DirectorySettings, seed: int) -> None:
        self.session, self.settings = session, settings
        self.rng = random.Random(seed)
        self.names = _Names(self.rng)
        self.by_code: dict[str, Node] = {}
        self.person_ids: list[uuid.UUID] = []
        self.samples: dict[str, list[tuple[str, str]]] = {"Q1": [], "Q2": [], "Q3": [], "Q4": []}
        self.user_password = "Qp-" + secrets.token_urlsafe(9)
        self.user_hash = hash_password(self.user_password, settings.passwords)
        self.counter = 0

    def node(self, spec: dict, parent: Node | None) -> Node:
        node = tree.create(self.session, CTX, tree.NewNode(
            name=spec["name"], short_name=spec["short_name"], code=spec["code"],
            parent_id=parent.id if parent else None, type=spec["type"],
            is_unit=spec.get("is_unit", False), hidden=spec.get("hidden", False)))
        self.by_code[node.code] = node
        for child in spec.get("children", []):
            self.node(child, node)
        return node

    def add(self, at: Node, title: str, order: int, *, q: str | None = None,
            leader: bool = False, division: str | None = None) -> uuid.UUID:
        facts = self.names.person()
        rank = self.rng.choice(data.RANKS[:6] if leader else data.RANKS[6:])
        person = people.add(self.session, self.settings, CTX, people.PersonData(
            name=facts["name"], gender=facts["gender"], mobile=facts["mobile"],
            id_number=facts["id_number"], office_phone=f"021-5973{self.rng.randrange(10**4):04d}",
            staffing_type=self.rng.choices(data.STAFFING_TYPES, (85, 12, 3))[0],
            rank=rank, position=title,
            position_level=self.rng.choice(data.POSITION_LEVELS[:4] if leader
                                           else data.POSITION_LEVELS[4:]),
            political_status=self.rng.choices(data.POLITICAL_STATUSES,
                                              [70, 3] + [1] * 9 + [3, 15])[0],
            leadership_division=division, visibility_class=q,
        ), people.PostSpec(node_id=at.id, title=title, sort_order=order))
        self.counter += 1
        username = f"u{self.counter:05d}"
        accounts.create(self.session, self.settings, CTX, username=username,
                        account_type="user", person_id=person.id,
                        password_hash=self.user_hash, must_change_password=False)
        cls = person.visibility_class.value
        if len(self.samples[cls]) < 3:
            self.samples[cls].append((username, f"{person.name}（{title}，{at.short_name}）"))
        self.person_ids.append(person.id)
        return person.id

    def staff(self, unit: Node, spec: dict) -> None:
        """Leaders of a level-2 unit (Q2), then staff in its bodies (class by default)."""
        titles = data.LEADER_TITLES.get(spec["type"], data.LEADER_TITLES["department"])
        for i, title in enumerate(titles[: self.rng.randint(2, 3)]):
            self.add(unit, title, i * 10, q="Q2", leader=True)
        for child in spec.get("children", []):
            self.body(child)

    def body(self, spec: dict) -> None:
        node = self.by_code[spec["code"]]
        titles = data.STAFF_TITLES.get(spec["type"], data.STAFF_TITLES["internal"])
        for i in range(self.rng.randint(*STAFF_PER_BODY)):
            self.add(node, titles[min(i, len(titles) - 1)], i * 10)
        for child in spec.get("children", []):
            self.body(child)


def build(session: Session, settings: DirectorySettings, seed: int = 2026) -> DemoResult:
    """Build the demo jurisdiction inside the caller's transaction."""
    b = _Builder(session, settings, seed)
    b.node(data.ROOT | {"children": data.CATEGORIES}, None)
    for i, (title, division) in enumerate(data.DISTRICT_LEADERS):
        seat = b.by_code[data.CATEGORIES[0 if i < 3 else 2]["code"]]
        b.add(seat, title, i * 10, q="Q1", leader=True, division=division)
    for category in data.CATEGORIES:
        for unit in category["children"]:
            b.staff(b.by_code[unit["code"]], unit)
    _extra_posts(b)
    _tags(b)
    admin_password = "Adm-" + secrets.token_urlsafe(12)
    totp = pyotp.random_base32()
    admin = accounts.create(session, settings, CTX, username="admin",
                            account_type="system_admin", password=admin_password,
                            must_change_password=False)
    accounts.set_totp_secret(session, settings, CTX, admin.id, totp)
    return DemoResult("admin", admin_password, totp, b.user_password,
                      people=len(b.person_ids), nodes=len(b.by_code), samples=b.samples)


def _extra_posts(b: _Builder) -> None:
    """Concurrent posts (兼任) and secondments (借调) for a few dozen people."""
    bodies = [n for n in b.by_code.values() if n.level >= 3]
    today = dt.date.today()
    for person_id in b.rng.sample(b.person_ids, 40):
        target = b.rng.choice(bodies)
        held = {p.node_id for p in queries.active_posts(b.session, person_id)}
        if target.id not in held:
            people.add_concurrent(b.session, CTX, person_id,
                                  people.PostSpec(target.id, "兼职联络员", 90))
    for person_id in b.rng.sample(b.person_ids, 15):
        target = b.rng.choice(bodies)
        people.second(b.session, CTX, person_id, people.PostSpec(target.id, "借调人员", 95),
                      today - dt.timedelta(days=b.rng.randrange(30, 200)),
                      today + dt.timedelta(days=b.rng.randrange(60, 300)))


def _tags(b: _Builder) -> None:
    for spec in data.TAGS:
        tag = tags.create(b.session, CTX, name=spec["name"],
                          owner_node_id=b.by_code[spec["owner_code"]].id,
                          shared_with=[b.by_code[c].id for c in spec["shared_with_codes"]],
                          description=spec["description"])
        for person_id in b.rng.sample(b.person_ids, b.rng.randint(6, 15)):
            tags.add_member(b.session, CTX, tag.id, person_id=person_id)
