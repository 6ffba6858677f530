"""ORM models of the directory.

The organisation tree is a materialised path: ``Node.path`` is the concatenation of
fixed-width tokens from the root down, so a subtree is one index range scan. The path
of each active post's node is copied onto the post (``Post.node_path``) so that
"everyone under node X" is a single range scan over one index, ordered for paging,
with no join and no recursion; moving a subtree rewrites both in two set-based UPDATEs.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import cast

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from directory.db import Base
from directory.db import PathString
from directory.db import UTCDateTime
from directory.db import created_at
from directory.db import utcnow
from directory.db import uuid_pk

PATH_TOKEN_WIDTH = 12


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class NodeStatus(enum.StrEnum):
    ACTIVE = "active"
    ABOLISHED = "abolished"


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNSPECIFIED = "unspecified"


class VisibilityClass(enum.StrEnum):
    Q1 = "Q1"
    Q2 = "Q2"
    Q3 = "Q3"
    Q4 = "Q4"


class PostKind(enum.StrEnum):
    PRIMARY = "primary"
    CONCURRENT = "concurrent"  # 兼任
    SECONDMENT = "secondment"  # 借调


class DeactivationReason(enum.StrEnum):
    """004 §二.6: why a person was deactivated (注销)."""

    CONTRACT_ENDED = "contract_ended"
    RETIRED = "retired"
    INTERNAL_RETIREMENT = "internal_retirement"
    TRANSFERRED_OUT = "transferred_out"
    OTHER = "other"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    DEACTIVATED = "deactivated"
    EXPIRED = "expired"


class AccountType(enum.StrEnum):
    SYSTEM_ADMIN = "system_admin"
    GRADED_ADMIN = "graded_admin"
    USER = "user"
    TEMPORARY = "temporary"
    SERVICE = "service"


class Node(Base):
    """A node of the organisation tree (组织架构节点)."""

    __tablename__ = "nodes"

    id: Mapped[uuid_pk]
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"))
    path: Mapped[str] = mapped_column(PathString, unique=True)
    level: Mapped[int] = mapped_column(Integer)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    is_unit: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Path of the outermost active hidden node at or above this one (None: no hidden node
    # on its path); kept by ``directory.hidden_paths`` so that visibility filters test one
    # column instead of every hidden subtree (migration 0010).
    hidden_top: Mapped[str | None] = mapped_column(PathString)
    # 开放共享范围 (001 组织人员规范 §14): shared into the higher-level directory (True),
    # withheld (False), or as the node above it (None).
    share_upward: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[NodeStatus] = mapped_column(
        _enum(NodeStatus, "node_status"), default=NodeStatus.ACTIVE
    )
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"))
    abolished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_nodes_parent_sort", "parent_id", "sort_order"),
        CheckConstraint("level >= 0", name="level_nonnegative"),
    )
    __mapper_args__ = {"version_id_col": version}


class Person(Base):
    """A real-name person record (人员), DOMAIN.md §2."""

    __tablename__ = "persons"

    id: Mapped[uuid_pk]
    # Searched by prefix as index ranges (directory.search): code point order on both
    # databases, as PathString; indexed with id, the search's tie-break (migration 0007).
    name: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"))
    name_pinyin: Mapped[str] = mapped_column(
        String(400).with_variant(String(400, collation="C"), "postgresql"))
    name_initials: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"))
    gender: Mapped[Gender] = mapped_column(_enum(Gender, "gender"), default=Gender.UNSPECIFIED)
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    mobile_enc: Mapped[str | None] = mapped_column(Text)
    mobile_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    office_phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    staffing_type: Mapped[str | None] = mapped_column(String(32))  # 编制
    rank: Mapped[str | None] = mapped_column(String(64))  # 职级
    position: Mapped[str | None] = mapped_column(String(100))  # 职务
    position_level: Mapped[str | None] = mapped_column(String(64))  # 职务层次
    political_status: Mapped[str | None] = mapped_column(String(64))  # 政治面貌
    leadership_division: Mapped[str | None] = mapped_column(Text)  # 领导分工
    role: Mapped[str | None] = mapped_column(String(100))
    visibility_class: Mapped[VisibilityClass] = mapped_column(
        _enum(VisibilityClass, "visibility_class")
    )
    visibility_class_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    not_searchable: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[PersonStatus] = mapped_column(
        _enum(PersonStatus, "person_status"), default=PersonStatus.ACTIVE
    )
    deactivation_reason: Mapped[DeactivationReason | None] = mapped_column(
        _enum(DeactivationReason, "deactivation_reason")
    )
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_persons_name_order", "name", "id"),
        Index("ix_persons_pinyin_order", "name_pinyin", "id"),
        Index("ix_persons_initials_order", "name_initials", "id"),
        # Active people by name: SCIM's Users in their default order, and a name prefix
        # counted from the index alone (``scim_store.person_visible`` spells the status
        # as this text, so the planner sees the query implies it on both dialects)
        Index("ix_persons_active_name", "name", "id", sqlite_where=text("status = 'active'"),
              postgresql_where=text("status = 'active'")),
    )
    __mapper_args__ = {"version_id_col": version}


class Post(Base):
    """A person's place in a node: primary post, concurrent post (兼任) or secondment (借调)."""

    __tablename__ = "posts"

    id: Mapped[uuid_pk]
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"))
    node_path: Mapped[str] = mapped_column(PathString)
    # The node's ``hidden_top``, copied as ``node_path`` is.
    hidden_top: Mapped[str | None] = mapped_column(PathString)
    # The person's Q class, copied (kept by the flush hook at the end of this module and by
    # ``classes.rederive_classes``): a viewer who may list only some classes reads each
    # class's posts in tree order from one index instead of filtering every post (0015).
    person_class: Mapped[VisibilityClass] = mapped_column(
        _enum(VisibilityClass, "post_person_class"), server_default="Q3")
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind, "post_kind"))
    title: Mapped[str | None] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[created_at]

    __table_args__ = (
        Index(
            "ix_posts_active_subtree",
            "node_path",
            "sort_order",
            "person_id",
            # Spelled as SQLAlchemy renders ``Post.active`` on each dialect, so that the
            # planner sees the query's WHERE implies the index's (SQLite needs the same text).
            sqlite_where=text("active = 1"),
            postgresql_where=text("active"),
        ),
        Index(
            "ix_posts_active_class_subtree",
            "person_class",
            "node_path",
            "sort_order",
            "person_id",
            sqlite_where=text("active = 1"),
            postgresql_where=text("active"),
        ),
        Index(
            "uq_posts_one_primary",
            "person_id",
            unique=True,
            sqlite_where=text("active AND kind = 'primary'"),
            postgresql_where=text("active AND kind = 'primary'"),
        ),
        Index("ix_posts_person", "person_id"),
        Index("ix_posts_node", "node_id"),
        CheckConstraint(
            "kind != 'secondment' OR (start_date IS NOT NULL AND end_date IS NOT NULL)",
            name="secondment_dates",
        ),
    )


class Account(Base):
    """A login account (账号): one per person, or a service account without a person."""

    __tablename__ = "accounts"

    id: Mapped[uuid_pk]
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), default=AccountStatus.ACTIVE
    )
    type: Mapped[AccountType] = mapped_column(_enum(AccountType, "account_type"))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_secret_enc: Mapped[str | None] = mapped_column(Text)
    # the last TOTP time step accepted: a step is never accepted twice (#4)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        CheckConstraint("type != 'temporary' OR expires_at IS NOT NULL", name="temporary_expiry"),
    )
    __mapper_args__ = {"version_id_col": version}


class Tag(Base):
    """A tag (标签) labelling people and nodes, owned by a node, shared with others."""

    __tablename__ = "tags"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    owner_node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"))
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[created_at]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("owner_node_id", "name", name="uq_tags_owner_name"),)
    __mapper_args__ = {"version_id_col": version}


class TagMember(Base):
    __tablename__ = "tag_members"

    id: Mapped[uuid_pk]
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"), index=True)
    node_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"), index=True)

    __table_args__ = (
        CheckConstraint(
            "(person_id IS NULL) != (node_id IS NULL)", name="exactly_one_member"
        ),
        UniqueConstraint("tag_id", "person_id", "node_id", name="uq_tag_members_member"),
    )


class TagShare(Base):
    __tablename__ = "tag_shares"

    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), primary_key=True)


class AuditEvent(Base):
    """One hash-chained audit record; ``seq`` orders the chain."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(255))
    on_behalf_of: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64), index=True)
    summary: Mapped[str] = mapped_column(Text)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SigningKey(Base):
    """A token-signing key; the private part is encrypted with the data cipher."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    private_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[created_at]
    # `idp keys rotate` (#4): a key is published from creation, signs from ``signs_from``
    # (NULL: at once) and leaves the JWKS at ``retired_at``, once every token it signed
    # has expired.
    signs_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VisibilityRule(Base):
    """One cell of the visibility matrix (001 组织人员规范 §10): for viewers of
    ``viewer_class`` looking at ``target_class``, the mode. ``scope_node_id`` NULL is the
    deployment matrix; otherwise an override for viewers whose primary post lies under it."""

    __tablename__ = "visibility_rules"

    id: Mapped[uuid_pk]
    scope_node_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"), index=True)
    viewer_class: Mapped[VisibilityClass] = mapped_column(
        _enum(VisibilityClass, "rule_viewer_class"))
    target_class: Mapped[VisibilityClass] = mapped_column(
        _enum(VisibilityClass, "rule_target_class"))
    mode: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]

    __table_args__ = (CheckConstraint("mode IN ('direct', 'searchable', 'none')",
                                      name="rule_mode"),)


class HiddenAllow(Base):
    """An allow-list entry of a hidden node: one person, node (subtree) or tag."""

    __tablename__ = "hidden_allows"

    id: Mapped[uuid_pk]
    hidden_node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    node_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"))
    tag_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tags.id"))

    __table_args__ = (CheckConstraint(
        "(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN node_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN tag_id IS NULL THEN 0 ELSE 1 END) = 1",
        name="exactly_one_subject"),)


class ContactLink(Base):
    """A contact request (可搜可加): ``requester`` asked ``target``; accepted or pending."""

    __tablename__ = "contact_links"

    id: Mapped[uuid_pk]
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"))
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[created_at]
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("requester_id", "target_id", name="uq_contact_links_pair"),
        CheckConstraint("status IN ('pending', 'accepted', 'declined')", name="status"),
    )


class AdminGrant(Base):
    """A graded-administration grant (分级授权): permissions over one or more subtrees."""

    __tablename__ = "admin_grants"

    id: Mapped[uuid_pk]
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    permissions: Mapped[str] = mapped_column(String(200))  # space-separated
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[created_at]


class AdminGrantScope(Base):
    __tablename__ = "admin_grant_scopes"

    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("admin_grants.id"), primary_key=True)
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), primary_key=True)


class RateCounter(Base):
    """A fixed-window counter shared by every worker (throttles, anti-scraping quotas)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch // window length
    count: Mapped[int] = mapped_column(Integer, default=0)


class ChangeRequest(Base):
    """A structure change at level ≤ 3 filed by a graded administrator (000 §7 报备): the
    tree changes only when a system administrator approves it."""

    __tablename__ = "change_requests"

    id: Mapped[uuid_pk]
    action: Mapped[str] = mapped_column(String(16))  # create / rename / move / abolish
    payload: Mapped[str] = mapped_column(Text)  # JSON of the action's arguments
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        CheckConstraint("action IN ('create', 'rename', 'move', 'abolish')", name="action"),
    )


class AppStatus(enum.StrEnum):
    """An app's life (001 §13–§19): applied → approved / rejected → testing → online →
    offline (maintenance) → deregistered."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    TESTING = "testing"
    ONLINE = "online"
    OFFLINE = "offline"
    DEREGISTERED = "deregistered"


class App(Base):
    """A business app (应用) and OAuth client. Its directory access: the subtrees it may
    read with its own token, hidden nodes granted to it by name, and whether it is the
    higher-level directory that sees only what units share upward."""

    __tablename__ = "apps"

    id: Mapped[uuid_pk]
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_node_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("nodes.id"))
    status: Mapped[AppStatus] = mapped_column(
        _enum(AppStatus, "app_status"), default=AppStatus.APPLIED
    )
    directory_upward: Mapped[bool] = mapped_column(Boolean, default=False)
    # OAuth client (RFC 6749 §2, RFC 7591 names): a confidential client's secret is stored
    # only as its SHA-256 (the secret is 256 random bits, shown once at creation).
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32),
                                                            default="client_secret_basic")
    grant_types: Mapped[str] = mapped_column(String(200), default="")  # space-separated
    scope: Mapped[str] = mapped_column(String(400), default="")  # what it may ask for
    redirect_uris: Mapped[str] = mapped_column(Text, default="")  # one per line, exact match
    # The application form (001 附件 1.1, with 附件 1.2's URL and icon): who answers for
    # the app, how it joins the platform (access modes: ``sso``, ``todo``, ``message``,
    # space-separated) and whether it needs the users pushed to it (用户对接).
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    tech_lead_name: Mapped[str | None] = mapped_column(String(100))
    tech_lead_phone: Mapped[str | None] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(500))
    icon_url: Mapped[str | None] = mapped_column(String(500))
    access_modes: Mapped[str | None] = mapped_column(String(64))
    needs_user_sync: Mapped[bool | None] = mapped_column(Boolean)
    planned_date: Mapped[dt.date | None] = mapped_column(Date)  # 预计接入时间
    remarks: Mapped[str | None] = mapped_column(Text)
    # OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed (https, or http
    # on loopback only).
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    # private_key_jwt (RFC 7523 §2.2, OIDC Core §9): the client's public keys, an inline
    # JWKS (RFC 7591 ``jwks``) checked at registration; NULL for every other method.
    jwks: Mapped[str | None] = mapped_column(Text)
    # ... or the URL of its JWKS (RFC 7591 ``jwks_uri``), fetched and cached in
    # ``jwks_uri_cache``; never both.
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    # OIDC Registration §2: the algorithm of the client's ID tokens (ES256 or RS256).
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="ES256")
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class JwksUriCache(Base):
    """The key set fetched from a private_key_jwt client's ``jwks_uri``, shared by every
    worker (``idp.jwks_uri``): ``jwks`` is the last set that passed the registration checks
    and ``fetched_at`` when it was fetched; ``attempted_at`` is the last fetch attempt (the
    refetch rate limit, claimed by one upsert across workers) and ``failure`` why it failed.
    Keyed by the URI too, so keys fetched from a former URI are never taken for the new
    one's."""

    __tablename__ = "jwks_uri_cache"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    jwks_uri: Mapped[str] = mapped_column(String(500), primary_key=True)
    jwks: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(100))


class AppDirectoryScope(Base):
    """A subtree an app may read through the contacts API with its own token."""

    __tablename__ = "app_directory_scopes"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), primary_key=True)


class AppHiddenGrant(Base):
    """A hidden node granted to an app by name: without it the app never sees the node."""

    __tablename__ = "app_hidden_grants"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), primary_key=True)


class AccountApp(Base):
    """An app listed on a temporary account: the only apps that account may use."""

    __tablename__ = "account_apps"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)


class CacheVersion(Base):
    """A token that changes, in the writing transaction, whenever data that workers cache
    changes (``hidden``: hidden nodes, their paths and allow-lists). A worker keeps its copy
    only while the token is the one it loaded with: the database stays the truth."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class BrowserSession(Base):
    """A signed-in browser (#4): one row per browser, several devices at once. The cookie
    holds 256 random bits; only their SHA-256 is stored, so a database read gives no
    usable cookie. Ends at logout, idle timeout, absolute lifetime, freeze or deactivation."""

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # absolute lifetime
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    amr: Mapped[str] = mapped_column(String(32), default="pwd")  # space-separated (RFC 8176)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class OAuthGrant(Base):
    """One authorization of a client by an account: the family of everything one
    authorization code led to. Revoking it (code replay, refresh reuse, logout, freeze)
    kills its refresh tokens, and its access tokens introspect as inactive."""

    __tablename__ = "oauth_grants"

    id: Mapped[uuid_pk]
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(400), default="")
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acting_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(32))


class AuthorizationCode(Base):
    """An unredeemed or redeemed authorization code (stored as its SHA-256); single use:
    redeeming sets ``redeemed_at`` with ``UPDATE … WHERE redeemed_at IS NULL``."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oauth_grants.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(400), default="")
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8), default="S256")
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """A refresh token (stored as its SHA-256). Rotation: using one marks it used and
    issues the next; presenting a used one again revokes its whole grant (reuse
    detection, RFC 9700 §4.14.2)."""

    __tablename__ = "oauth_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("oauth_grants.id"), index=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SeenOnce(Base):
    """Values that must be accepted once across every worker: client assertion ``jti``s
    (private_key_jwt) until they expire. Inserting a seen key fails on the primary key."""

    __tablename__ = "seen_once"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ScimIdentity(Base):
    """What SCIM (#5) says of a person beyond DOMAIN.md §2. ``user_name``: the userName as
    the client wrote it (Entra ID and Okta send user principal names and e-mail addresses,
    which the account username rule does not allow; the account gets a name derived from
    it), unique whatever the case through ``user_name_key`` (RFC 7643 §4.1.1). The
    enterprise extension's ``employeeNumber`` and ``manager`` (RFC 7643 §4.3)."""

    __tablename__ = "scim_identities"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    user_name: Mapped[str | None] = mapped_column(String(255))
    user_name_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    employee_number: Mapped[str | None] = mapped_column(String(64), index=True)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@event.listens_for(Session, "before_flush")
def _keep_post_person_class(session: Session, _context: object, _instances: object) -> None:
    """``Post.person_class`` follows ``Person.visibility_class`` on every ORM write: a new
    post takes its person's class, a person whose class changes updates their active posts
    in the same flush. (Bulk Core updates of classes call ``classes.rederive_classes``,
    which does the same.)"""
    for obj in list(session.new):
        if isinstance(obj, Post):
            person = session.identity_map.get(session.identity_key(Person, obj.person_id))
            if person is None:
                with session.no_autoflush:
                    person = session.get(Person, obj.person_id)
            if person is not None and person.visibility_class is not None:
                obj.person_class = person.visibility_class
    for obj in list(session.dirty):
        if isinstance(obj, Person) and \
                inspect(obj).attrs.visibility_class.history.has_changes():
            posts = cast(Table, Post.__table__)
            session.connection().execute(
                update(posts).where(posts.c.person_id == obj.id, posts.c.active)
                .values(person_class=obj.visibility_class.value))


class ScimToken(Base):
    """A bearer token an administrator created for a SCIM client (#5), for HR systems that
    cannot run the client credentials grant: 256 random bits shown once, stored as their
    SHA-256, with an expiry, revocable. It acts as its app, within the app's scope."""

    __tablename__ = "scim_tokens"

    id: Mapped[uuid_pk]
    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AppTester(Base):
    """An account listed as a tester of an app: while the app is testing, only its
    testers (and temporary accounts assigned to it) sign in to it (#4)."""

    __tablename__ = "app_testers"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), primary_key=True,
                                                  index=True)


class AppAccessNode(Base):
    """使用范围 (DOMAIN.md §6): a subtree whose people may use the app."""

    __tablename__ = "app_access_nodes"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    node_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("nodes.id"), primary_key=True)


class AppAccessTag(Base):
    """使用范围: a tag whose people (directly or through a tagged node) may use the app."""

    __tablename__ = "app_access_tags"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id"), primary_key=True)


class AppAccessType(Base):
    """使用范围: an account type that may use the app (none listed: every type)."""

    __tablename__ = "app_access_types"

    app_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id"), primary_key=True)
    account_type: Mapped[AccountType] = mapped_column(
        _enum(AccountType, "app_access_account_type"), primary_key=True)


class Proxy(Base):
    """代理人员 (DOMAIN.md §3, 003 §16): a user away on business names a proxy who acts for
    them from ``starts_at`` to ``ends_at``; whatever the proxy does meanwhile is recorded as
    done on behalf of the principal (RFC 8693 token exchange, ``idp.token_exchange``)."""

    __tablename__ = "proxies"

    id: Mapped[uuid_pk]
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    proxy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("principal_id != proxy_id", name="not_self"),
        CheckConstraint("ends_at > starts_at", name="period"),
    )
