"""The review server's security rules, over 127.0.0.1 with a real HTTP client and a real SQLite file."""

from __future__ import annotations

import http.client
import re
import socket
import sqlite3

import orjson
import pytest
from _review_helpers import dpo_rows, serving, write_rows

from alignforge.review.server import CSP
from alignforge.review.store import store_path


@pytest.fixture
def server(tmp_path):
    data = write_rows(tmp_path / "pairs.jsonl", dpo_rows(8))
    with serving(data, 1.0) as srv:
        yield srv


def request(srv, method, path, *, host=None, cookie=True, origin="same", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    h = {"Host": host or f"127.0.0.1:{srv.port}"}
    if cookie:
        h["Cookie"] = f"{srv.cookie_name}={srv.token}"
    if origin == "same":
        h["Origin"] = f"http://{h['Host']}"
    elif origin:
        h["Origin"] = origin
    if body is not None and not isinstance(body, bytes):
        body = orjson.dumps(body)
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def assert_clean_error(status, resp, data):
    assert resp.status == status, (resp.status, data)
    assert b"Traceback" not in data and b'File "' not in data
    assert orjson.loads(data)["error"]


def test_token_is_required_then_set_as_a_strict_httponly_cookie(server):
    resp, data = request(server, "GET", "/", cookie=False)
    assert_clean_error(401, resp, data)
    resp, data = request(server, "GET", "/?token=wrong", cookie=False)
    assert_clean_error(401, resp, data)
    resp, data = request(server, "GET", "/api/state", cookie=False)
    assert_clean_error(401, resp, data)
    resp, _ = request(server, "GET", f"/?token={server.token}", cookie=False)
    assert resp.status == 303 and resp.getheader("Location") == "/"  # the token leaves the address bar
    cookie = resp.getheader("Set-Cookie")
    assert cookie.startswith(f"{server.cookie_name}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    resp, page = request(server, "GET", "/")
    assert resp.status == 200 and b"alignforge review" in page
    assert resp.getheader("Content-Security-Policy") == CSP
    assert "script-src 'self'" in CSP and "default-src 'none'" in CSP and "img-src 'none'" in CSP
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    # no inline script, style or event handler: everything the page runs comes from /assets/
    assert b"<script>" not in page and b"<style" not in page and re.search(rb"\son\w+=", page) is None
    resp, state = request(server, "GET", "/api/state")
    assert resp.status == 200 and orjson.loads(state)["total"] == 8
    assert resp.getheader("Content-Type") == "application/json"


def test_host_header_is_checked_against_dns_rebinding(server):
    for host in ("evil.example", f"evil.example:{server.port}", f"127.0.0.1:{server.port + 1}", "127.0.0.1"):
        resp, data = request(server, "GET", "/", host=host)
        assert_clean_error(403, resp, data)
    resp, _ = request(server, "GET", "/", host=f"localhost:{server.port}")
    assert resp.status == 200


def _verdict(server, **kw):
    body = {"reviewer": "alice", "item_id": "L1", "verdict": "agree"}
    return request(server, "POST", "/api/verdict", body=body, **kw)


def test_writes_need_the_cookie_and_the_same_origin(server):
    resp, data = _verdict(server, cookie=False)
    assert_clean_error(401, resp, data)
    resp, data = _verdict(server, origin="http://evil.example")
    assert_clean_error(403, resp, data)
    resp, data = _verdict(server, origin=f"http://localhost:{server.port}")  # another origin than the Host
    assert_clean_error(403, resp, data)
    resp, data = _verdict(server, origin=None, headers={"Sec-Fetch-Site": "cross-site"})
    assert_clean_error(403, resp, data)
    resp, data = _verdict(server, origin=None)  # neither Origin nor Sec-Fetch-Site
    assert_clean_error(403, resp, data)
    resp, data = request(
        server,
        "POST",
        "/api/verdict",
        body=b'{"reviewer":"alice","item_id":"L1","verdict":"agree"}',
        headers={"Content-Type": "text/plain"},
    )  # a "simple" cross-site form post cannot set application/json
    assert_clean_error(415, resp, data)
    assert not sqlite3.connect(store_path(server.store.data)).execute("SELECT * FROM verdicts").fetchall()
    resp, data = _verdict(server, origin=None, headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200 and orjson.loads(data)["done"] == 1


def test_verdict_is_committed_before_the_reply(server):
    resp, data = request(
        server, "POST", "/api/verdict", body={"reviewer": "alice", "item_id": "L3", "verdict": "disagree"}
    )
    assert resp.status == 200, data
    resp, _ = request(
        server, "POST", "/api/note", body={"reviewer": "alice", "item_id": "L3", "note": "<b>vague</b>"}
    )
    assert resp.status == 200
    # another connection, as a restarted server would open it
    rows = (
        sqlite3.connect(store_path(server.store.data))
        .execute("SELECT reviewer, item_id, verdict, note FROM verdicts")
        .fetchall()
    )
    assert rows == [("alice", "L3", "disagree", "<b>vague</b>")]
    mode = sqlite3.connect(store_path(server.store.data)).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b"\xff\xfe", 400),
        ({"reviewer": "alice", "item_id": "L1", "verdict": "maybe"}, 400),
        ({"reviewer": "alice", "item_id": "L1"}, 400),
        ({"reviewer": "<script>", "item_id": "L1", "verdict": "agree"}, 400),
        ({"reviewer": "alice", "item_id": 5, "verdict": "agree"}, 400),
        ({"reviewer": "alice", "item_id": "L1", "verdict": "agree", "extra": 1}, 400),
        ({"reviewer": "alice", "item_id": "L999", "verdict": "agree"}, 404),
    ],
)
def test_malformed_writes_get_a_short_4xx(server, body, status):
    headers = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
    resp, data = request(server, "POST", "/api/verdict", body=body, headers=headers)
    assert_clean_error(status, resp, data)


def test_oversized_body_and_bad_queries_are_refused(server):
    resp, data = request(
        server,
        "POST",
        "/api/verdict",
        body=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_clean_error(413, resp, data)
    resp, data = request(
        server, "POST", "/api/note", body={"reviewer": "alice", "item_id": "L1", "note": "x" * 5000}
    )
    assert_clean_error(400, resp, data)
    for path in (
        "/api/item?i=-1",
        "/api/item?i=abc",
        "/api/item?i=%C2%B2",  # a superscript two: str.isdigit() says yes, int() says no
        "/api/item",
        "/api/state?reviewer=%3Cscript%3E",
        "/?" + "&".join(f"a{i}=1" for i in range(20)),
    ):
        resp, data = request(server, "GET", path)
        assert_clean_error(400, resp, data)
    resp, data = request(server, "GET", "/api/item?i=99")
    assert_clean_error(404, resp, data)
    resp, data = request(server, "DELETE", "/api/verdict")
    assert_clean_error(405, resp, data)


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/../../etc/passwd",
        "/assets/..%2f..%2f..%2fetc%2fpasswd",
        "/assets/../server.py",
        "/assets/%2e%2e/store.py",
        "/assets/review.js/../../index.html",
        "/assets/",
        "/assets/index.html",
        "//etc/passwd",
    ],
)
def test_only_the_fixed_assets_are_served(server, path):
    resp, data = request(server, "GET", path)
    assert_clean_error(404, resp, data)
    assert b"root:" not in data and b"import" not in data


def _raw(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(payload)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data


def test_garbage_requests_get_a_short_error_without_traceback(server):
    # a one-word line is an HTTP/0.9 request to http.server: its answer is the bare body
    data = _raw(server, b"GARBAGE\r\n\r\n")
    assert orjson.loads(data)["error"].startswith("Bad request")
    data = _raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
    assert data.split(b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    data = _raw(server, b"GET / HTTP/1.1 extra\r\n\r\n")
    assert b"Traceback" not in data and orjson.loads(data)["error"].startswith("Bad request")
