"""RFC 7644 §4 / RFC 7643 §5–§7: ServiceProviderConfig, Schemas and ResourceTypes say
exactly what is enforced."""

from __future__ import annotations

from scim import schemas as s


def test_service_provider_config_advertises_what_is_enforced(edu):
    body = edu.get("/ServiceProviderConfig").get_json(force=True)
    assert body["schemas"] == [s.SPC]
    assert body["patch"] == {"supported": True}
    assert body["filter"] == {"supported": True, "maxResults": s.MAX_RESULTS}
    assert body["sort"] == {"supported": True} and body["etag"] == {"supported": True}
    assert body["changePassword"] == {"supported": True}
    assert body["bulk"]["maxOperations"] == s.MAX_OPERATIONS
    assert body["bulk"]["maxPayloadSize"] == s.MAX_PAYLOAD
    assert body["bulk"]["supported"] is s.BULK_SUPPORTED
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_schemas_list_every_schema_and_each_is_addressable(edu):
    body = edu.get("/Schemas").get_json(force=True)
    ids = {r["id"] for r in body["Resources"]}
    assert ids == {s.USER, s.ENTERPRISE, s.GOV_USER, s.GROUP, s.GOV_GROUP, s.ORG_UNIT}
    assert body["totalResults"] == len(ids)
    for schema_id in ids:
        one = edu.get(f"/Schemas/{schema_id}").get_json(force=True)
        assert one["id"] == schema_id and one["attributes"]
    assert edu.get("/Schemas/urn:nothing").status_code == 404


def _attr(schema: dict, name: str) -> dict:
    return next(a for a in schema["attributes"] if a["name"] == name)


def test_the_national_id_number_is_write_only_and_never_returned(edu):
    gov = edu.get(f"/Schemas/{s.GOV_USER}").get_json(force=True)
    nid = _attr(gov, "nationalIdNumber")
    assert nid["returned"] == "never" and nid["mutability"] == "writeOnly"
    posts = _attr(gov, "posts")
    assert posts["multiValued"] is True
    assert {a["name"] for a in posts["subAttributes"]} == {
        "node", "title", "kind", "start", "end", "order"}
    user = edu.get(f"/Schemas/{s.USER}").get_json(force=True)
    assert _attr(user, "password")["returned"] == "never"
    assert _attr(user, "groups")["mutability"] == "readOnly"
    assert _attr(user, "userName")["uniqueness"] == "server"


def test_org_unit_level_is_read_only(edu):
    unit = edu.get(f"/Schemas/{s.ORG_UNIT}").get_json(force=True)
    assert _attr(unit, "level")["mutability"] == "readOnly"
    assert {a["name"] for a in unit["attributes"]} >= {
        "displayName", "shortName", "code", "parent", "order", "level", "unit", "hidden",
        "type", "status"}


def test_resource_types(edu):
    body = edu.get("/ResourceTypes").get_json(force=True)
    types = {r["name"]: r for r in body["Resources"]}
    assert set(types) == {"User", "Group", "OrgUnit"}
    assert types["User"]["endpoint"] == "/Users"
    assert {e["schema"] for e in types["User"]["schemaExtensions"]} == {s.ENTERPRISE,
                                                                       s.GOV_USER}
    assert edu.get("/ResourceTypes/OrgUnit").get_json(force=True)["schema"] == s.ORG_UNIT
    assert edu.get("/ResourceTypes/Nope").status_code == 404
