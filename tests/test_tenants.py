"""Must hold 5: tenant isolation, token checks, admin-only tenant creation, JSON errors with stable codes."""

from tests.conftest import admin, new_tenant
from tier7.contract import ContractClient


def test_tenant_cannot_touch_another_tenants_keys(cluster, http):
    a_name, a_token = new_tenant(cluster, http, "a")
    b_name, b_token = new_tenant(cluster, http, "b")
    node = cluster.nodes()[3].url
    a = ContractClient(node, a_token, client=http)
    b = ContractClient(node, b_token, client=http)
    assert b.put("secret", "b-data").status == 200

    # addressing B's keyspace explicitly with A's token: refused, and B's data untouched
    for answer in (a.get("secret", tenant=b_name), a.put("secret", "stolen", tenant=b_name),
                   a.delete("secret", tenant=b_name), a.cas("secret", "b-data", "x", tenant=b_name)):
        assert answer.status == 403 and answer.code == "forbidden", answer
    # the same key name in A's own keyspace is a different key
    assert a.get("secret").status == 404
    assert a.put("secret", "a-data").status == 200
    assert b.get("secret").body["value"] == "b-data"
    assert b.get("secret", tenant=b_name).body["value"] == "b-data"
    assert a.get("secret").body["value"] == "a-data"


def test_missing_and_bad_tokens_are_refused(cluster, http):
    name, token = new_tenant(cluster, http)
    node = cluster.nodes()[0].url
    cases = {
        None: 401,
        "garbage": 401,
        token[:-1] + ("0" if token[-1] != "0" else "1"): 401,  # forged signature
        f"tk.{name}.{'0' * 40}": 401,
        cluster.admin_token(): 401,  # the admin token is not a tenant token
    }
    for bad, status in cases.items():
        answer = ContractClient(node, bad, client=http).put("k", "v")
        assert answer.status == status and answer.code == "unauthorized", (bad, answer)
        assert set(answer.body["error"]) == {"code", "message"}


def test_only_admin_creates_tenants(cluster, http):
    _, token = new_tenant(cluster, http)
    node = cluster.nodes()[5].url
    assert ContractClient(node, None, client=http).create_tenant("x1").status == 401
    assert ContractClient(node, token, client=http).create_tenant("x1").status == 403
    assert ContractClient(node, "adm-wrong", client=http).create_tenant("x1").status == 403
    first = admin(cluster, http, 5).create_tenant("x1")
    again = admin(cluster, http, 1).create_tenant("x1")
    assert (first.status, again.status) == (201, 200)
    assert first.body["token"] == again.body["token"] and again.body["created"] is False
    assert admin(cluster, http).create_tenant("bad name!").code == "invalid_tenant"
    assert admin(cluster, http).create_tenant("_system").code == "invalid_tenant"
