"""Schemas and resource types (RFC 7643 §7, §6), defined once: /Schemas and /ResourceTypes
are generated from these tables, and so are the filter allowlist (``field``: the store's
field key; an attribute without one cannot be filtered or sorted on), the mutability
checks and ``attributes``/``excludedAttributes``. What is listed here is what is enforced.

Our own namespace is ``urn:govidp:params:scim:schemas:…`` (docs/scim.md): the User
extension carrying DOMAIN.md §2, the Group extension (owner and shared-with nodes) and the
OrgUnit resource (tree nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GOV_USER = "urn:govidp:params:scim:schemas:extension:gov:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
GOV_GROUP = "urn:govidp:params:scim:schemas:extension:gov:2.0:Group"
ORG_UNIT = "urn:govidp:params:scim:schemas:core:2.0:OrgUnit"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"

DISCOVERY_ENDPOINTS = ("ServiceProviderConfig", "Schemas", "ResourceTypes")
MAX_RESULTS = 1000
DEFAULT_PAGE = 100
CURSOR_TIMEOUT = 3600
MAX_OPERATIONS = 1000
MAX_PAYLOAD = 1024 * 1024
BULK_SUPPORTED = True


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    multi: bool = False
    required: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    case_exact: bool = False
    uniqueness: str = "none"
    field: str | None = None  # store field key: filterable and sortable
    sub: tuple[Attr, ...] = ()
    canonical: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    description: str = ""

    @cached_property
    def _children(self) -> dict[str, Attr]:
        out: dict[str, Attr] = {}
        for a in self.sub:
            out.setdefault(a.name.lower(), a)
        return out

    def child(self, name: str) -> Attr | None:
        return self._children.get(name.lower())

    @cached_property
    def single(self) -> Attr:
        """One value of a multi-valued attribute (its type and sub-attributes)."""
        return Attr(self.name, type=self.type, sub=self.sub, mutability=self.mutability,
                    canonical=self.canonical)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "type": self.type, "multiValued": self.multi,
            "description": self.description or self.name, "required": self.required,
            "caseExact": self.case_exact, "mutability": self.mutability,
            "returned": self.returned, "uniqueness": self.uniqueness}
        if self.sub:
            out["subAttributes"] = [a.as_json() for a in self.sub]
        if self.canonical:
            out["canonicalValues"] = list(self.canonical)
        if self.refs:
            out["referenceTypes"] = list(self.refs)
        return out


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attr, ...]

    @cached_property
    def _by_name(self) -> dict[str, Attr]:
        out: dict[str, Attr] = {}
        for a in self.attributes:
            out.setdefault(a.name.lower(), a)
        return out

    def attr(self, name: str) -> Attr | None:
        return self._by_name.get(name.lower())

    def as_json(self, base: str) -> dict[str, Any]:
        return {"schemas": [SCHEMA], "id": self.id, "name": self.name,
                "description": self.description,
                "attributes": [a.as_json() for a in self.attributes],
                "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{self.id}"}}


RO = "readOnly"
ID = Attr("id", mutability=RO, returned="always", case_exact=True, uniqueness="server",
          field="id")
EXTERNAL_ID = Attr("externalId", case_exact=True, field="external_id",
                   description="the provisioning client's id; unique per client")
META = Attr("meta", type="complex", mutability=RO, sub=(
    Attr("resourceType", mutability=RO, case_exact=True),
    Attr("created", type="dateTime", mutability=RO, field="created"),
    Attr("lastModified", type="dateTime", mutability=RO, field="last_modified"),
    Attr("location", type="reference", mutability=RO, case_exact=True, refs=("uri",)),
    Attr("version", mutability=RO, case_exact=True)))
COMMON = (ID, EXTERNAL_ID, META)

USER_SCHEMA = Schema(USER, "User", "User Account (a person and their login account)", (
    Attr("userName", required=True, uniqueness="server", field="user_name",
         mutability="immutable",
         description="login name: 3–64 of a-z 0-9 . _ -, compared case-insensitively"),
    Attr("name", type="complex", mutability=RO, description="formatted is displayName; "
         "givenName and familyName are accepted on create to compose it, not stored", sub=(
             Attr("formatted", mutability=RO, field="name",
                  description="the full name (姓名)"),)),
    Attr("displayName", required=True, field="name", description="the full name (姓名)"),
    Attr("title", field="position", description="position (职务)"),
    Attr("active", type="boolean", field="active",
         description="false freezes the account (冻结): every session and token ends"),
    Attr("password", mutability="writeOnly", returned="never",
         description="at /Users a client's reset, which the person changes at their next "
                     "login; at /Me the person's own new password (docs/login.md rules)"),
    Attr("emails", type="complex", multi=True, sub=(
        Attr("value", field="email"), Attr("type", canonical=("work",), field="email_type"))),
    Attr("phoneNumbers", type="complex", multi=True, sub=(
        Attr("value"), Attr("type", canonical=("mobile", "work")))),
    Attr("groups", type="complex", multi=True, mutability=RO, sub=(
        Attr("value", mutability=RO, field="group.value"),
        Attr("$ref", type="reference", mutability=RO, refs=("Group",)),
        Attr("display", mutability=RO))),
))
ENTERPRISE_SCHEMA = Schema(ENTERPRISE, "EnterpriseUser", "Enterprise User", (
    Attr("employeeNumber", case_exact=True, field="employee_number"),
    Attr("manager", type="complex", sub=(
        Attr("value", case_exact=True, field="manager", description="the manager's User id"),
        Attr("$ref", type="reference", refs=("User",)))),
    Attr("organization", mutability=RO, description="the unit (使用单位) of the primary post"),
    Attr("department", mutability=RO, description="the node of the primary post"),
))
GOV_USER_SCHEMA = Schema(GOV_USER, "GovUser", "Person fields of DOMAIN.md §2", (
    Attr("posts", type="complex", multi=True, description="primary post, concurrent posts "
         "(兼任) and secondments (借调); exactly one primary", sub=(
             Attr("node", required=True, case_exact=True, field="post.node",
                  description="OrgUnit id"),
             Attr("title", field="post.title"),
             Attr("kind", canonical=("primary", "concurrent", "secondment"), case_exact=True,
                  field="post.kind"),
             Attr("start", field="post.start", description="YYYY-MM-DD (secondments)"),
             Attr("end", field="post.end", description="YYYY-MM-DD (secondments)"),
             Attr("order", type="integer", field="post.order"))),
    Attr("visibilityClass", canonical=("Q1", "Q2", "Q3", "Q4"), case_exact=True,
         field="visibility_class"),
    Attr("notSearchable", type="boolean", field="not_searchable"),
    Attr("staffingType", canonical=("在编", "聘用", "外部临时"), case_exact=True,
         field="staffing_type"),
    Attr("rank", field="rank"),
    Attr("positionLevel", field="position_level"),
    Attr("politicalStatus", field="political_status"),
    Attr("leadershipDivision", field="leadership_division"),
    Attr("role", field="role"),
    Attr("officePhone", field="office_phone"),
    Attr("gender", canonical=("male", "female", "unspecified"), case_exact=True,
         field="gender"),
    Attr("nationalIdNumber", mutability="writeOnly", returned="never",
         description="身份证号: write only, stored encrypted, never returned or filtered"),
))
GROUP_SCHEMA = Schema(GROUP, "Group", "Group (a tag, 标签)", (
    Attr("displayName", required=True, field="name"),
    Attr("members", type="complex", multi=True, sub=(
        Attr("value", mutability="immutable", case_exact=True, field="member.value"),
        Attr("type", mutability="immutable", canonical=("User", "OrgUnit"),
             field="member.type"),
        Attr("$ref", type="reference", mutability="immutable", refs=("User", "OrgUnit")))),
))
GOV_GROUP_SCHEMA = Schema(GOV_GROUP, "GovGroup", "Tag ownership and sharing", (
    Attr("ownerNode", case_exact=True, mutability="immutable", field="owner",
         description="OrgUnit id of the owner; defaults to the client's unit"),
    Attr("sharedWith", multi=True, case_exact=True, description="OrgUnit ids (共享范围)"),
))
ORG_UNIT_SCHEMA = Schema(ORG_UNIT, "OrgUnit", "A node of the organisation tree", (
    Attr("displayName", required=True, field="name", description="full name"),
    Attr("shortName", field="short_name", description="规范化简称"),
    Attr("code", required=True, case_exact=True, uniqueness="global", field="code",
         mutability="immutable"),
    Attr("parent", case_exact=True, field="parent", description="parent OrgUnit id"),
    Attr("order", type="integer", field="order", description="排序 among siblings"),
    Attr("level", type="integer", mutability=RO, field="level"),
    Attr("unit", type="boolean", field="is_unit", description="使用单位"),
    Attr("hidden", type="boolean", field="hidden"),
    Attr("type", field="type"),
    Attr("status", mutability=RO, canonical=("active", "abolished"), field="status"),
))
# Read-only attributes computed from other data (the primary post's node and unit): what a
# client writes to them is ignored rather than refused, as Entra's default mapping sends them.
DERIVED = {(ENTERPRISE, "organization"), (ENTERPRISE, "department")}
SCHEMAS = {s.id: s for s in (USER_SCHEMA, ENTERPRISE_SCHEMA, GOV_USER_SCHEMA, GROUP_SCHEMA,
                             GOV_GROUP_SCHEMA, ORG_UNIT_SCHEMA)}


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: str
    extensions: tuple[str, ...] = ()
    description: str = ""
    store: str = dc_field(default="")

    def schemas(self) -> list[Schema]:
        return list(self._schemas)

    @cached_property
    def _schemas(self) -> tuple[Schema, ...]:
        return (SCHEMAS[self.schema], *(SCHEMAS[e] for e in self.extensions))

    @cached_property
    def _by_id(self) -> dict[str, Schema]:
        return {x.id.lower(): x for x in reversed(self._schemas)}

    def schema_named(self, uri: str) -> Schema | None:
        """One of its schemas, by a URN in any case."""
        return self._by_id.get(uri.lower())

    def as_json(self, base: str) -> dict[str, Any]:
        return {"schemas": [RESOURCE_TYPE], "id": self.name, "name": self.name,
                "endpoint": self.endpoint, "description": self.description,
                "schema": self.schema,
                "schemaExtensions": [{"schema": e, "required": False} for e in self.extensions],
                "meta": {"resourceType": "ResourceType",
                         "location": f"{base}/ResourceTypes/{self.name}"}}


USERS = ResourceType("User", "/Users", USER, (ENTERPRISE, GOV_USER), "people and accounts")
GROUPS = ResourceType("Group", "/Groups", GROUP, (GOV_GROUP,), "tags (标签)")
ORG_UNITS = ResourceType("OrgUnit", "/OrgUnits", ORG_UNIT, (), "organisation tree nodes")
RESOURCE_TYPES = {r.name: r for r in (USERS, GROUPS, ORG_UNITS)}


@dataclass(frozen=True)
class Resolved:
    schema: Schema
    attr: Attr
    sub: Attr | None


def resolve(rtype: ResourceType, uri: str | None, name: str,
            sub: str | None = None) -> Resolved | None:
    """An attribute path (RFC 7644 §3.10) of ``rtype``: ``uri`` qualifies it; ``meta``
    and the common attributes belong to every resource."""
    candidates = rtype.schemas()
    if uri is not None:
        candidates = [s for s in candidates if s.id.lower() == uri.lower()]
    for schema in candidates:
        attr = schema.attr(name)
        if attr is None and schema.id == rtype.schema:
            attr = next((a for a in COMMON if a.name.lower() == name.lower()), None)
        if attr is None:
            continue
        if sub is None:
            return Resolved(schema, attr, None)
        child = attr.child(sub)
        return Resolved(schema, attr, child) if child is not None else None
    return None


def _writable(schema: Schema, name: str) -> bool:
    attr = schema.attr(name)
    return attr is not None and attr.mutability in ("readWrite", "writeOnly")


def service_provider_config(base: str) -> dict[str, Any]:
    """RFC 7643 §5: exactly what this server enforces."""
    return {
        "schemas": [SPC],
        "patch": {"supported": True},
        "bulk": {"supported": BULK_SUPPORTED, "maxOperations": MAX_OPERATIONS,
                 "maxPayloadSize": MAX_PAYLOAD},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        # the password attribute, written by PUT and PATCH at /Users (a reset) and at /Me
        "changePassword": {"supported": _writable(USER_SCHEMA, "password")},
        "pagination": {"cursor": True, "index": True, "defaultPaginationMethod": "index",
                       "defaultPageSize": DEFAULT_PAGE, "maxPageSize": MAX_RESULTS,
                       "cursorTimeout": CURSOR_TIMEOUT},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token",
            "description": "RFC 9068 access token of an online app (client credentials, "
                           "scope scim); at /Me, a person's access token with scope scim",
            "primary": True}],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{base}/ServiceProviderConfig"},
    }
