"""A private OpenLDAP slapd holding the same people and tree as a benchmark database.

    python bench/slapd.py load --url sqlite:////work/bench-data/full.db   # LDIF + slapadd
    python bench/slapd.py start      # foreground check: start, count entries, stop

Never the system service: its own ``slapd.conf``, mdb database, pid file and log under
``--dir`` (default /work/bench-data/slapd), listening on ``ldap://127.0.0.1:3899`` only,
started and stopped by whoever calls ``Slapd.start``/``Slapd.stop`` (bench/directory_reads.py).

The tree (suffix ``o=bench``): one ``organizationalUnit`` per node, ``ou=<path token>``
(the node's 12-character token from ``Node.path``: unique, so siblings never collide;
the node's name is in ``description``), nested as in our tree. One ``inetOrgPerson``
per active person, ``uid=<person id>`` under the node of their active primary post:
``cn`` = name, ``sn`` = surname (first character), ``displayName`` = full pinyin
(``name_pinyin``, e.g. ``zhangwei``), ``initials`` = ``name_initials`` (``zw``),
``title`` = the primary post's title, ``employeeType`` = visibility class.
Concurrent posts are not represented (LDAP has one parent per entry).
Indexes: ``objectClass eq``, ``ou eq``, ``cn eq,sub``, ``displayName eq,subinitial``,
``initials eq,subinitial`` (prefix searches need only subinitial keys; ``sub`` on the two
ASCII attributes would triple the load time for keys no query here uses).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy import select  # noqa: E402

from directory.db import make_engine  # noqa: E402
from directory.models import PATH_TOKEN_WIDTH  # noqa: E402
from directory.models import Node  # noqa: E402
from directory.models import NodeStatus  # noqa: E402
from directory.models import Person  # noqa: E402
from directory.models import PersonStatus  # noqa: E402
from directory.models import Post  # noqa: E402
from directory.models import PostKind  # noqa: E402

SUFFIX = "o=bench"
DEFAULT_DIR = Path("/work/bench-data/slapd")
DEFAULT_URI = "ldap://127.0.0.1:3899"
SCHEMA = Path("/etc/ldap/schema")
MAXSIZE = 8 * 1024**3  # mdb map size: 8 GiB, well above the ~3 GB the full load needs

CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
loglevel none
sizelimit 500
tool-threads 2
# 1-character prefixes such as (cn=张*) can use the subinitial index
index_substr_if_minlen 1

database mdb
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
directory {dir}/db
maxsize {maxsize}
index objectClass eq
index ou eq
index cn eq,sub
index displayName eq,subinitial
index initials eq,subinitial
"""


def tokens(path: str) -> list[str]:
    return [path[i:i + PATH_TOKEN_WIDTH] for i in range(0, len(path), PATH_TOKEN_WIDTH)]


def node_dn(path: str) -> str:
    """``ou=<own token>,...,ou=<root token>,o=bench``."""
    return ",".join([f"ou={t}" for t in reversed(tokens(path))] + [SUFFIX])


def _value(attr: str, value: str) -> str:
    """RFC 2849: anything but printable ASCII is base64 (``attr:: ...``)."""
    if value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")):
        return f"{attr}: {value}\n"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}\n"


def ldif_entries(engine: Engine) -> Iterator[str]:
    """The suffix, every active node (parents first: a path sorts before its
    extensions), then every active person under their primary post's node."""
    yield f"dn: {SUFFIX}\nobjectClass: organization\no: bench\n\n"
    with engine.connect() as conn:
        nodes = conn.execution_options(yield_per=20_000).execute(
            select(Node.path, Node.name).where(Node.status == NodeStatus.ACTIVE)
            .order_by(Node.path))
        for path, name in nodes:
            yield (f"dn: {node_dn(path)}\nobjectClass: organizationalUnit\n"
                   f"ou: {tokens(path)[-1]}\n" + _value("description", name) + "\n")
        people = conn.execution_options(yield_per=20_000).execute(
            select(Person.id, Person.name, Person.name_pinyin, Person.name_initials,
                   Person.visibility_class, Post.node_path, Post.title)
            .join(Post, Post.person_id == Person.id)
            .where(Post.active, Post.kind == PostKind.PRIMARY,
                   Person.status == PersonStatus.ACTIVE))
        for pid, name, pinyin, initials, cls, node_path, title in people:
            yield (f"dn: uid={pid},{node_dn(node_path)}\nobjectClass: inetOrgPerson\n"
                   f"uid: {pid}\n" + _value("cn", name) + _value("sn", name[:1])
                   + f"displayName: {pinyin}\ninitials: {initials}\n"
                   + (_value("title", title) if title else "")
                   + f"employeeType: {cls.value}\n\n")


class Slapd:
    """One private slapd: ``load`` (once), ``start``, ``stop``."""

    def __init__(self, base: Path = DEFAULT_DIR, uri: str = DEFAULT_URI):
        self.base, self.uri = base, uri
        self.conf, self.db = base / "slapd.conf", base / "db"
        self.loaded_marker = base / "loaded.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def write_conf(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(CONF.format(schema=SCHEMA, dir=self.base, suffix=SUFFIX,
                                         maxsize=MAXSIZE))

    def loaded(self) -> str | None:
        return self.loaded_marker.read_text() if self.loaded_marker.exists() else None

    def load(self, url: str) -> dict[str, float]:
        """Export an LDIF from ``url`` and ``slapadd -q`` it into an empty mdb."""
        self.write_conf()
        if self.db.exists():
            shutil.rmtree(self.db)
        self.db.mkdir()
        self.loaded_marker.unlink(missing_ok=True)
        ldif = self.base / "people.ldif"
        started = time.perf_counter()
        engine = make_engine(url)
        entries = 0
        with ldif.open("w", encoding="utf-8") as fh:
            for entry in ldif_entries(engine):
                fh.write(entry)
                entries += 1
        engine.dispose()
        exported = time.perf_counter() - started
        subprocess.run(["slapadd", "-q", "-f", str(self.conf), "-l", str(ldif)], check=True,
                       timeout=3600)
        added = time.perf_counter() - started - exported
        self.loaded_marker.write_text(f"{url} {entries} entries\n")
        return {"entries": entries, "export_s": exported, "slapadd_s": added}

    def start(self, timeout: float = 60.0) -> None:
        if not self.loaded():
            raise SystemExit(f"slapd database under {self.base} not loaded: run "
                             "`python bench/slapd.py load --url ...` first")
        self.write_conf()
        log = (self.base / "slapd.log").open("ab")
        # -d 0: stay in the foreground (we own the process), log nothing to stderr
        self.process = subprocess.Popen(
            ["slapd", "-d", "0", "-f", str(self.conf), "-h", self.uri + "/"],
            stdout=log, stderr=log)
        host, port = self.uri.removeprefix("ldap://").split(":")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"slapd exited with {self.process.returncode}; "
                                 f"see {self.base / 'slapd.log'}")
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("slapd did not start listening in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    @staticmethod
    def version() -> str:
        out = subprocess.run(["slapd", "-VV"], capture_output=True, text=True, timeout=30)
        line = (out.stderr or out.stdout).splitlines()[0]
        return "OpenLDAP slapd " + line.split("slapd ")[1].split(" ")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("load", "start"))
    parser.add_argument("--url", help="database to export (load)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--uri", default=DEFAULT_URI)
    args = parser.parse_args(argv)
    server = Slapd(args.dir, args.uri)
    if args.command == "load":
        if not args.url:
            parser.error("load needs --url")
        result = server.load(args.url)
        print(f"loaded {result['entries']:,} entries: export {result['export_s']:.0f} s, "
              f"slapadd {result['slapadd_s']:.0f} s; mdb "
              f"{sum(f.stat().st_blocks * 512 for f in server.db.iterdir()) / 1e9:.2f} GB on disk")
        return 0
    from ldap3 import BASE
    from ldap3 import Connection
    from ldap3 import Server
    server.start()
    try:
        conn = Connection(Server(args.uri), auto_bind=True)
        conn.search(SUFFIX, "(objectClass=*)", BASE, attributes=["o"])
        print(f"{server.version()} pid {os.getpid()}→{server.process.pid if server.process else '?'}"
              f" on {args.uri}: {conn.entries[0].entry_dn if conn.entries else 'no suffix'}")
        conn.unbind()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
