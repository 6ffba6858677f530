"""A synthetic jurisdiction for benchmarks: the body of ``idp generate``.

``generate`` fills an already-migrated, empty database with a realistic organisation
tree (root, 10 categories including 镇街道, units and their bodies down to level ~6) and
people, each with one active primary post, about 5% with a concurrent post (兼任) too.
Rows go in with SQLAlchemy Core ``executemany`` in batches, one commit per batch: no
ORM objects and no per-row audit; one ``directory.generated`` audit event at the end.

Everything random comes from ``random.Random(seed)``, so the same arguments give the
same tree, names and mobiles (only the AES-GCM nonces differ). Mobiles are stored as
``directory.people`` stores them: the AES-GCM ciphertext and the keyed lookup hash.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from typing import Any
from typing import cast

from pypinyin import Style
from pypinyin import lazy_pinyin
from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from directory import audit
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.settings import DirectorySettings
from directory.tree import path_token
from policies.classes import GRASSROOTS_NODE_TYPES
from policies.classes import STREETS_AND_TOWNS_CATEGORY

BATCH = 10_000  # people per transaction (plus their posts)
NODE_BATCH = 20_000
CONCURRENT_EVERY = 20  # every 20th person also holds a concurrent post: 5%
CTX = audit.Context(actor="cli:generate")

# Surnames and given-name characters chosen so that the per-character pinyin equals
# what ``lazy_pinyin`` gives for the whole name (no polyphonic surname such as 单/曾/解,
# no given characters that form phrases read differently, such as 思 in 于思 or 柏 in 柏林):
# every surname+char and char+char pair, and every 3-character name, was checked.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭萧田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱"
            "江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红文玉梅辉鹏宇浩然子轩"
         "欣怡晨阳雨嘉琪婷雪峰海波宁丹凯俊斌博亮晓飞云鑫琳颖慧倩婉悦瑶涵佳琦露蕾薇玲媛"
         "芬燕萍蓉春秋冬松林森桐楠梓彤昊宸睿泽铭瑞祥福安康健鸿振新永德立成东兴荣家庆丰"
         "胜利民宏亚光")

ROOT_NAME, ROOT_SHORT = "上海市基准区", "基准区"
# (name, short name, share of the level-2 units); 镇街道 comes second so that it exists
# even in a tiny tree.
CATEGORIES = (
    ("上海市基准区人民政府", "区政府", 0.24),
    (STREETS_AND_TOWNS_CATEGORY, STREETS_AND_TOWNS_CATEGORY, 0.24),
    ("中共上海市基准区委员会", "区委", 0.08),
    ("上海市基准区人大常委会", "区人大", 0.04),
    ("政协上海市基准区委员会", "区政协", 0.04),
    ("中共上海市基准区纪律检查委员会", "区纪委监委", 0.04),
    ("政法机关", "政法机关", 0.06),
    ("群团组织", "群团组织", 0.06),
    ("区属事业单位", "事业单位", 0.10),
    ("区属国有企业", "国有企业", 0.10),
)
# Fan-out of each level below the categories relative to the others: wide near the top,
# narrow near the leaves. The scale is solved so that the counts add up to ``nodes``.
FANOUT_SHAPE = (1.6, 1.3, 1.0, 0.8, 0.6)  # levels 2, 3, 4, 5, 6
PLACE = "华新金泽白鹤练塘重固赵巷徐泾香花盈浦青东西南北安和平兴盛丰庆朱家角夏阳松江嘉定"
DEPARTMENTS = ("教育", "卫生健康", "民政", "财政", "人力资源和社会保障", "生态环境", "住房和城乡建设",
               "交通", "水务", "农业农村", "商务", "文化和旅游", "应急管理", "审计", "市场监督管理",
               "统计", "医疗保障", "体育", "规划和自然资源", "绿化市容", "司法", "科学技术",
               "退役军人事务", "发展和改革", "国有资产监督管理", "信访")
DEPARTMENT_SUFFIXES = ("局", "委员会", "办公室", "中心", "服务中心")
BODIES = ("办公室", "综合科", "人事科", "财务科", "业务一科", "业务二科", "法规科", "信息中心",
          "监督科", "规划科", "党建办", "宣传科", "第一组", "第二组", "第三组", "服务站")
TITLES = ("科员", "科员", "科员", "干部", "干部", "副科长", "科长", "副主任", "主任", None)
STAFFING = ("在编",) * 14 + ("聘用",) * 5 + ("外部临时",)
MOBILE_PREFIXES = ("13", "15", "17", "18", "19")
_MOBILE_SPAN = 10**9  # 9 digits after the 2-digit prefix: 11 digits, ^1[3-9]\d{9}$
_MOBILE_MULT = 2654435761  # odd and not a multiple of 5: a bijection modulo 5 * 10**9


def planned_rows(people: int, nodes: int) -> int:
    """How many rows ``generate`` inserts (nodes + persons + posts): a progress total."""
    concurrent = people // CONCURRENT_EVERY if nodes > 1 else 0
    return nodes + 2 * people + concurrent


def level_counts(nodes: int) -> list[int]:
    """Nodes per level (index = level) adding up to exactly ``nodes``."""
    if nodes < 1:
        raise ValueError("nodes must be at least 1 (the root)")
    if nodes == 1:
        return [1]
    categories = min(len(CATEGORIES), nodes - 1)
    rest = nodes - 1 - categories
    counts = [1, categories]
    if rest == 0:
        return counts

    def total(scale: float) -> float:
        width, added = float(categories), 0.0
        for shape in FANOUT_SHAPE:
            width *= scale * shape
            added += width
        return added

    low, high = 0.0, 1.0
    while total(high) < rest:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) < rest else (low, mid)
    width, remaining = float(categories), rest
    for shape in FANOUT_SHAPE[:-1]:
        width *= high * shape
        count = min(remaining, max(1, round(width)))
        counts.append(count)
        remaining -= count
    counts.append(remaining)
    while counts[-1] == 0:
        counts.pop()
    return counts


def _pinyin_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Per-character pinyin and initials of the name alphabet, made once with pypinyin."""
    chars = set(SURNAMES) | set(GIVEN)
    full = {c: lazy_pinyin(c)[0].lower() for c in chars}
    initials = {c: lazy_pinyin(c, style=Style.FIRST_LETTER)[0].lower() for c in chars}
    return full, initials


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class _Tree:
    """The generated nodes, in level order: enough to place people and build rows."""

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []
        self.paths: list[str] = []
        self.levels: list[int] = []
        self.q4: list[bool] = []
        self.rows: list[dict[str, Any]] = []


def _build_tree(rng: random.Random, nodes: int, now: dt.datetime) -> _Tree:
    tree = _Tree()
    tokens: set[str] = set()
    children_of: dict[int, int] = {}

    def add(parent: int | None, level: int, name: str, short: str, type_: str,
            is_unit: bool) -> int:
        node_id = _uuid(rng)
        while path_token(node_id) in tokens:  # keep every path token unique: paths are
            node_id = _uuid(rng)              # unique whatever the parent
        tokens.add(path_token(node_id))
        index = len(tree.ids)
        parent_path = tree.paths[parent] if parent is not None else ""
        order = children_of.get(-1 if parent is None else parent, 0) + 1
        children_of[-1 if parent is None else parent] = order
        q4 = ((tree.q4[parent] if parent is not None else False)
              or (level == 1 and short == STREETS_AND_TOWNS_CATEGORY)
              or type_ in GRASSROOTS_NODE_TYPES)
        tree.ids.append(node_id)
        tree.paths.append(parent_path + path_token(node_id))
        tree.levels.append(level)
        tree.q4.append(q4)
        tree.rows.append({
            "id": node_id, "parent_id": tree.ids[parent] if parent is not None else None,
            "path": tree.paths[index], "level": level, "sort_order": order * 10,
            "name": name, "short_name": short, "code": f"G{index:07d}", "type": type_,
            "is_unit": is_unit, "hidden": False, "status": "active",
            "created_at": now, "updated_at": now, "version": 1,
        })
        return index

    counts = level_counts(nodes)
    add(None, 0, ROOT_NAME, ROOT_SHORT, "jurisdiction", True)
    previous = [0]
    for level, count in enumerate(counts[1:], start=1):
        if level == 1:
            parents = [0] * count
        else:
            if level == 2:
                weights = [CATEGORIES[i][2] for i in range(len(previous))]
            else:  # uneven units: a few large, many small
                weights = [rng.lognormvariate(0.0, 0.8) for _ in previous]
            parents = sorted(rng.choices(previous, weights=weights, k=count))
        current = []
        for i, parent in enumerate(parents):
            if level == 1:
                name, short, _share = CATEGORIES[i]
                current.append(add(0, 1, name, short, "category", False))
                continue
            parent_row = tree.rows[parent]
            place = rng.choice(PLACE) + rng.choice(PLACE)
            if level == 2 and parent_row["short_name"] == STREETS_AND_TOWNS_CATEGORY:
                if rng.random() < 0.6:
                    args = (f"{place}镇人民政府", f"{place}镇", "town", True)
                else:
                    args = (f"{place}街道办事处", f"{place}街道", "street", True)
            elif level == 2:
                dept = rng.choice(DEPARTMENTS) + rng.choice(DEPARTMENT_SUFFIXES)
                args = (f"{ROOT_NAME}{dept}", f"区{dept}", "department", True)
            elif parent_row["type"] in ("town", "street") and rng.random() < 0.6:
                if parent_row["type"] == "town":
                    args = (f"{place}村村民委员会", f"{place}村", "village", False)
                else:
                    args = (f"{place}居民委员会", f"{place}居委会", "residential", False)
            else:
                body = rng.choice(BODIES)
                args = (body, body, "internal", False)
            current.append(add(parent, level, *args))
        previous = current
    return tree


def _people_weights(rng: random.Random, tree: _Tree) -> list[float]:
    """Cumulative weights placing people: few at the top, more in deeper, uneven units."""
    by_level = (0.2, 0.3, 2.0, 3.0, 3.0, 3.0, 3.0)
    cumulative, total = [], 0.0
    for level in tree.levels:
        total += by_level[min(level, len(by_level) - 1)] * rng.lognormvariate(0.0, 0.75)
        cumulative.append(total)
    return cumulative


def _is_empty(conn: Connection) -> bool:
    try:
        return (conn.scalar(select(Node.id).limit(1)) is None
                and conn.scalar(select(Person.id).limit(1)) is None)
    except DBAPIError as exc:
        raise ValueError("the database is not migrated: run the migrations first") from exc


def _fast_load(conn: Connection, on: bool) -> None:
    """Loader settings for this connection only, switched back when the load is done."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        if on:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")  # 1 GiB of page cache
            cursor.execute("PRAGMA temp_store=MEMORY")
        else:
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-2000")
            cursor.execute("PRAGMA temp_store=DEFAULT")
        cursor.close()
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SET synchronous_commit TO " + ("off" if on else "DEFAULT")))
        conn.commit()


def generate(
    engine: Engine,
    dsettings: DirectorySettings,
    *,
    people: int,
    nodes: int,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Fill an empty, migrated database with ``nodes`` nodes and ``people`` people.

    ``progress(n)`` is called with the number of rows just inserted (its total is
    ``planned_rows(people, nodes)``). Returns the counts and the seconds spent.
    Raises ValueError on a database that already has nodes or people.
    """
    if people < 0:
        raise ValueError("people must not be negative")
    if nodes < 1:
        raise ValueError("nodes must be at least 1 (the root)")
    started = time.perf_counter()
    report = progress or (lambda _n: None)
    rng = random.Random(seed)
    cipher = dsettings.cipher
    now = dt.datetime.now(dt.UTC)
    seconds = {"tree": 0.0, "people_rows": 0.0, "crypto": 0.0, "insert": 0.0}
    node_table, person_table, post_table = (
        cast(Table, m.__table__) for m in (Node, Person, Post))

    with engine.connect() as conn:
        if not _is_empty(conn):
            raise ValueError(
                "refusing to generate into a database that already has a tree or people: "
                "generate needs an empty, migrated database")
        conn.rollback()
        _fast_load(conn, True)
        try:
            mark = time.perf_counter()
            tree = _build_tree(rng, nodes, now)
            cumulative = _people_weights(rng, tree)
            seconds["tree"] += time.perf_counter() - mark
            for start in range(0, len(tree.rows), NODE_BATCH):
                batch = tree.rows[start:start + NODE_BATCH]
                mark = time.perf_counter()
                conn.execute(insert(node_table), batch)
                conn.commit()
                seconds["insert"] += time.perf_counter() - mark
                report(len(batch))
            tree.rows = []

            full, initials = _pinyin_tables()
            node_count = len(tree.ids)
            node_range = range(node_count)
            mobile_offset = rng.randrange(len(MOBILE_PREFIXES) * _MOBILE_SPAN)
            concurrent_total = 0
            for start in range(0, people, BATCH):
                size = min(BATCH, people - start)
                mark = time.perf_counter()
                placed = rng.choices(node_range, cum_weights=cumulative, k=size)
                extra = rng.choices(node_range, cum_weights=cumulative, k=size // 10 + 1)
                surnames = rng.choices(SURNAMES, k=size)
                given = rng.choices(GIVEN, k=2 * size)
                one_char = [rng.random() < 0.3 for _ in range(size)]
                genders = rng.choices(("male", "female"), k=size)
                staffing = rng.choices(STAFFING, k=size)
                titles = rng.choices(TITLES, k=size + size // 10 + 1)
                orders = [10 * rng.randrange(1, 100) for _ in range(size + size // 10 + 1)]
                person_rows: list[dict[str, Any]] = []
                post_rows: list[dict[str, Any]] = []
                mobiles: list[str] = []
                extras = 0
                for j in range(size):
                    i = start + j
                    n = (_MOBILE_MULT * i + mobile_offset) % (len(MOBILE_PREFIXES) * _MOBILE_SPAN)
                    mobiles.append(f"{MOBILE_PREFIXES[n // _MOBILE_SPAN]}{n % _MOBILE_SPAN:09d}")
                    s, g1, g2 = surnames[j], given[2 * j], given[2 * j + 1]
                    if one_char[j]:
                        name, pinyin, inits = s + g1, full[s] + full[g1], initials[s] + initials[g1]
                    else:
                        name = s + g1 + g2
                        pinyin = full[s] + full[g1] + full[g2]
                        inits = initials[s] + initials[g1] + initials[g2]
                    person_id = _uuid(rng)
                    node = placed[j]
                    cls = "Q4" if tree.q4[node] else "Q3"
                    person_rows.append({
                        "id": person_id, "name": name, "name_pinyin": pinyin,
                        "name_initials": inits, "gender": genders[j],
                        "staffing_type": staffing[j],
                        "visibility_class": cls,
                        "visibility_class_explicit": False, "not_searchable": False,
                        "status": "active", "created_at": now, "updated_at": now, "version": 1,
                    })
                    post_rows.append({
                        "id": _uuid(rng), "person_id": person_id, "node_id": tree.ids[node],
                        "node_path": tree.paths[node], "kind": "primary", "title": titles[j],
                        "sort_order": orders[j], "active": True, "created_at": now,
                        "person_class": cls,
                    })
                    if i % CONCURRENT_EVERY == CONCURRENT_EVERY - 1 and node_count > 1:
                        k, extras = extras, extras + 1
                        other = extra[k]
                        if other == node:
                            other = (node + 1) % node_count
                        post_rows.append({
                            "id": _uuid(rng), "person_id": person_id,
                            "node_id": tree.ids[other], "node_path": tree.paths[other],
                            "kind": "concurrent", "title": titles[size + k],
                            "sort_order": orders[size + k], "active": True, "created_at": now,
                            "person_class": cls,
                        })
                seconds["people_rows"] += time.perf_counter() - mark

                mark = time.perf_counter()
                for row, mobile in zip(person_rows, mobiles, strict=True):
                    row["mobile_enc"] = cipher.encrypt(mobile, "persons.mobile")
                    row["mobile_hash"] = cipher.lookup_hash(mobile, "mobile")
                seconds["crypto"] += time.perf_counter() - mark

                mark = time.perf_counter()
                conn.execute(insert(person_table), person_rows)
                conn.execute(insert(post_table), post_rows)
                conn.commit()
                seconds["insert"] += time.perf_counter() - mark
                concurrent_total += extras
                report(len(person_rows) + len(post_rows))
        finally:
            conn.rollback()
            _fast_load(conn, False)

    # Fresh planner statistics, so that a benchmark right after sees realistic plans.
    mark = time.perf_counter()
    with engine.connect() as conn:
        # A complete ANALYZE (~16 s at 2 M people): with SQLite's analysis_limit the
        # partial index ix_posts_active_subtree got no statistics and the planner chose
        # a full scan of persons for the subtree query.
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    seconds["analyze"] = time.perf_counter() - mark

    counts = {
        "nodes": node_count,
        "levels": len(level_counts(nodes)),
        "people": people,
        "posts": people + concurrent_total,
        "concurrent_posts": concurrent_total,
        "seed": seed,
    }
    with Session(engine) as session:
        audit.record(session, "directory.generated", CTX,
                     summary=counts | {"seconds": round(time.perf_counter() - started, 1)})
        session.commit()
    seconds["total"] = time.perf_counter() - started
    return counts | {"rows": node_count + people + counts["posts"],
                     "seconds": {k: round(v, 3) for k, v in seconds.items()}}
