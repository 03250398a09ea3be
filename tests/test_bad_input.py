"""Must hold 6: bad input gets a 4xx JSON error with a stable code, never a 500, and no node goes down."""

import json

import httpx
import pytest

from tests.conftest import new_tenant
from tier7.topology import observe


@pytest.fixture(scope="module")
def tenant(cluster, http):
    return new_tenant(cluster, http)


def cases(token):
    auth = {"authorization": f"Bearer {token}"}
    big = "x" * 70_000
    return [
        ("PUT", "/v1/kv/k", b"{not json", auth, 400, "invalid_json"),
        ("PUT", "/v1/kv/k", b"", auth, 400, "invalid_json"),
        ("PUT", "/v1/kv/k", b"[1,2]", auth, 400, "invalid_json"),
        ("PUT", "/v1/kv/k", b"\xff\xfe", auth, 400, "invalid_json"),
        ("PUT", "/v1/kv/k", b"{}", auth, 400, "missing_field"),
        ("PUT", "/v1/kv/k", b'{"value": 5}', auth, 400, "wrong_type"),
        ("PUT", "/v1/kv/k", b'{"value": null}', auth, 400, "wrong_type"),
        ("PUT", "/v1/kv/k", b'{"value": true}', auth, 400, "wrong_type"),
        ("PUT", "/v1/kv/k", json.dumps({"value": big}).encode(), auth, 413, "value_too_large"),
        ("PUT", "/v1/kv/" + "k" * 300, b'{"value": "v"}', auth, 400, "key_too_long"),
        ("PUT", "/v1/kv/k", b'{"value": "' + b"x" * 1_100_000 + b'"}', auth, 413, "payload_too_large"),
        ("POST", "/v1/kv/k/cas", b'{"value": "v"}', auth, 400, "missing_field"),
        ("POST", "/v1/kv/k/cas", b'{"expected": 1, "value": "v"}', auth, 400, "wrong_type"),
        ("POST", "/v1/kv/k/nope", b"{}", auth, 404, "not_found"),
        ("GET", "/v1/kv/k?consistency=maybe", b"", auth, 400, "bad_consistency"),
        ("PATCH", "/v1/kv/k", b"{}", auth, 405, "method_not_allowed"),
        ("GET", "/v1/cas", b"", auth, 404, "not_found"),
        ("GET", "/nope", b"", {}, 404, "not_found"),
        ("DELETE", "/v1/health", b"", {}, 405, "method_not_allowed"),
        ("POST", "/v1/tenants", b'{"name": 3}', {}, 401, "unauthorized"),
        ("GET", "/v1/ring/placement", b"", {}, 400, "missing_field"),
        ("POST", "/v1/internal/apply", b'{"op": "put"}', {}, 403, "forbidden"),
        ("GET", "/v1/kv/%00%ff", b"", auth, 404, "not_found"),
    ]


def test_bad_requests_get_json_4xx(cluster, http, tenant):
    _, token = tenant
    url = cluster.nodes()[2].url
    for method, path, body, headers, status, code in cases(token):
        response = http.request(method, url + path, content=body, headers=headers)
        assert response.status_code == status, (method, path, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/json"
        payload = response.json()
        assert payload["error"]["code"] == code, (method, path, payload)
        assert "Traceback" not in response.text


def test_no_node_went_down_and_no_500(cluster, http, tenant):
    test_bad_requests_get_json_4xx(cluster, http, tenant)
    assert observe(cluster.nodes()).healthy()
    for node in cluster.nodes():
        metrics = http.get(node.url + "/metrics").text
        assert 'status="500"' not in metrics, node.name
        log = cluster.log_files()[node.name].read_text()
        assert '"level": "ERROR"' not in log and '"level": "CRITICAL"' not in log, node.name


def test_garbage_bytes_do_not_kill_a_node(cluster, http):
    import socket

    node = cluster.nodes()[1]
    host, port = node.url.removeprefix("http://").split(":")
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"X" * 10000):
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.sendall(junk)
            try:
                s.recv(100)
            except OSError:
                pass
    assert httpx.get(node.url + "/v1/health").status_code == 200
