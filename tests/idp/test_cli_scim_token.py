"""``idp scim-token issue|list|revoke``: a token shown once that acts as its SCIM app at
/scim/v2 until it is revoked (then 401)."""

from __future__ import annotations

import json

from directory import apps
from idp.app import runtime
from tests.idp.support import run


def test_issue_list_and_revoke(world, cli_env, sessions, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        client, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name="人事系统", grant_types=("client_credentials",), scope=("scim",),
            status="online"))
        apps.set_directory_access(s, ctx, client, scope_node_ids=[w["edu"]], hidden_node_ids=[],
                                  upward=False)
        client_id = client.client_id
    issued = run(cli_env, "scim-token", "issue", client_id, "--days", "30", "--json")
    assert issued.exit_code == 0, issued.output
    out = json.loads(issued.output)
    assert out["token"].startswith("scim_")
    http = app.test_client()
    auth = {"Authorization": f"Bearer {out['token']}"}
    assert http.get("/scim/v2/Users", headers=auth).status_code == 200
    listed = run(cli_env, "scim-token", "list", client_id)
    assert listed.exit_code == 0 and out["token_id"] in listed.output
    assert out["token"] not in listed.output  # never shown again
    assert run(cli_env, "scim-token", "revoke", out["token_id"]).exit_code == 0
    assert http.get("/scim/v2/Users", headers=auth).status_code == 401
    bad = run(cli_env, "scim-token", "issue", client_id, "--days", "999")
    assert bad.exit_code != 0 and "scim.token.days" in bad.output
    runtime(app).engine.dispose()


def test_unknown_client_or_token_is_refused(world, cli_env) -> None:
    import uuid

    unknown = run(cli_env, "scim-token", "issue", "no-such-client")
    assert unknown.exit_code != 0 and "not_found" in unknown.output
    missing = run(cli_env, "scim-token", "revoke", str(uuid.uuid4()))
    assert missing.exit_code != 0 and "scim.token.not_found" in missing.output
    bad = run(cli_env, "scim-token", "revoke", "not-a-uuid")
    assert bad.exit_code != 0
    runtime(world[0]).engine.dispose()
