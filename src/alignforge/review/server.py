"""The review page's server: stdlib ``http.server`` on 127.0.0.1, a token, and nothing it does not need.

The rows are model output and may be hostile, so the page renders every field as text (the
script inserts with ``textContent``; no data is ever pasted into HTML or a script) under a strict
Content-Security-Policy. The server requires a random token (Jupyter's convention: ``/?token=T``
sets an HttpOnly SameSite=Strict cookie and redirects to strip it), checks the Host header
against DNS rebinding, refuses cross-origin writes, serves only its fixed assets, and answers a
malformed request with a short 4xx, never a traceback. Each verdict is committed before its reply.
"""

from __future__ import annotations

import hmac
import re
import secrets
import socket
import sys
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from alignforge.review._kinds import AGREE_MEANS
from alignforge.review.store import VERDICTS, ReviewStore

__all__ = ["ReviewServer", "make_server", "CSP", "REVIEWER_RE"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
REVIEWER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$")
MAX_BODY = 64 * 1024
MAX_NOTE = 4000
_ASSETS = {  # URL path -> (file in alignforge/review/assets, content type); nothing else is served
    "/": ("index.html", "text/html; charset=utf-8"),
    "/assets/review.js": ("review.js", "text/javascript; charset=utf-8"),
    "/assets/review.css": ("review.css", "text/css; charset=utf-8"),
}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], store: ReviewStore, *, reviewer: str, token: str | None = None
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
        super().__init__(address, _Handler)
        self.store = store
        self.reviewer = reviewer
        self.token = token or secrets.token_urlsafe(32)
        self.port = int(self.server_address[1])
        self.cookie_name = f"alignforge_review_{self.port}"
        host = str(address[0])
        names = {"127.0.0.1", "localhost"} | ({host} if host not in ("", "0.0.0.0", "::") else set())
        self.allowed_hosts = {f"{n}:{self.port}" for n in names} | {f"[::1]:{self.port}"}
        self.assets = {
            path: (resources.files("alignforge.review").joinpath("assets", name).read_bytes(), ctype)
            for path, (name, ctype) in _ASSETS.items()
        }
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        return f"http://{shown}:{self.port}/?token={self.token}"


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "alignforge-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # --- plumbing -------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines and headers (parsed by http.server itself) get the same short JSON."""
        self.close_connection = True
        self._send(code, {"error": message or HTTPStatus(code).phrase})

    def _headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")

    def _send(
        self, status: int, body: Any, ctype: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self._headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _guard(self, handler: Any) -> None:
        try:
            handler()
        except _Refused as exc:
            self.close_connection = True  # an unread request body must not be taken for the next request
            self._send(exc.status, {"error": exc.message})
        except Exception as exc:  # a bug: say so briefly, never send the traceback to the page
            print(
                f"review server: internal error on {self.command}: {type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            self.close_connection = True
            self._send(500, {"error": "internal error"})

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_HEAD(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def do_PUT(self) -> None:
        self._send(405, {"error": "method not allowed"}, extra={"Allow": "GET, POST"})

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    # --- checks ---------------------------------------------------------------------------------

    def _check_host(self) -> None:
        host = self.headers.get("Host", "")
        if host.lower() not in self.server.allowed_hosts:
            raise _Refused(HTTPStatus.FORBIDDEN, "Host not allowed (DNS rebinding guard)")

    def _cookie_token(self) -> str | None:
        raw = self.headers.get("Cookie")
        if not raw:
            return None
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = jar.get(self.server.cookie_name)
        return morsel.value if morsel else None

    def _authorized(self, query: dict[str, list[str]], *, cookie_only: bool = False) -> bool:
        token = self.server.token.encode()
        given = [self._cookie_token()]
        if not cookie_only:
            given += query.get("token", [])[:1]
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("token "):
                given.append(auth[6:].strip())
        return any(g is not None and hmac.compare_digest(g.encode(), token) for g in given)

    def _same_origin(self) -> None:
        site = self.headers.get("Sec-Fetch-Site")
        origin = self.headers.get("Origin")
        if site is not None and site != "same-origin":
            raise _Refused(HTTPStatus.FORBIDDEN, "cross-origin write refused")
        if origin is None:
            if site is None:
                raise _Refused(HTTPStatus.FORBIDDEN, "a write must carry Origin (or Sec-Fetch-Site)")
            return
        if origin.lower() != f"http://{self.headers.get('Host', '').lower()}":
            raise _Refused(HTTPStatus.FORBIDDEN, "cross-origin write refused")

    # --- routes ---------------------------------------------------------------------------------

    def _get(self) -> None:
        self._check_host()
        url = urlsplit(self.path)
        try:
            query = parse_qs(url.query, max_num_fields=8)
        except ValueError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "too many query fields") from None
        if not self._authorized(query):
            raise _Refused(HTTPStatus.UNAUTHORIZED, "token required: open the URL the server printed")
        if url.path == "/" and "token" in query:  # token -> cookie, then drop the token from the address bar
            cookie = f"{self.server.cookie_name}={self.server.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000"
            self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})
            return
        if url.path in self.server.assets:
            body, ctype = self.server.assets[url.path]
            self._send(200, body, ctype)
        elif url.path == "/api/state":
            self._send(200, self._state(self._reviewer(query.get("reviewer", [self.server.reviewer])[0])))
        elif url.path == "/api/item":
            self._send(200, self._item(query))
        else:
            raise _Refused(HTTPStatus.NOT_FOUND, "not found")

    def _reviewer(self, name: Any) -> str:
        if not isinstance(name, str) or not REVIEWER_RE.match(name):
            raise _Refused(HTTPStatus.BAD_REQUEST, "reviewer: 1-64 letters, digits, space, _ . @ -")
        return name

    def _state(self, reviewer: str) -> dict[str, Any]:
        store = self.server.store
        done, nxt = store.progress(reviewer)
        kind = store.meta["kind"]
        return {
            "reviewer": reviewer,
            "kind": kind,
            "agree_means": AGREE_MEANS[kind],
            "total": store.size(),
            "done": done,
            "next": nxt,
            "data": store.data.name,
        }

    def _item(self, query: dict[str, list[str]]) -> dict[str, Any]:
        reviewer = self._reviewer(query.get("reviewer", [self.server.reviewer])[0])
        raw = query.get("i", [""])[0]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            raise _Refused(HTTPStatus.BAD_REQUEST, "i: expected an item position (0, 1, ...)")
        item = self.server.store.item(int(raw))
        if item is None:
            raise _Refused(HTTPStatus.NOT_FOUND, f"no item at position {raw}")
        verdict, note = self.server.store.of(reviewer, item.id)
        return {
            "i": int(raw),
            "id": item.id,
            "stratum": item.stratum,
            "machine": item.machine,
            "fields": item.fields,
            "verdict": verdict,
            "note": note,
        }

    def _post(self) -> None:
        self._check_host()
        if not self._authorized({}, cookie_only=True):
            raise _Refused(HTTPStatus.UNAUTHORIZED, "token cookie required")
        self._same_origin()
        path = urlsplit(self.path).path
        if path not in ("/api/verdict", "/api/note"):
            raise _Refused(HTTPStatus.NOT_FOUND, "not found")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json")
        body = self._body()
        reviewer = self._reviewer(body.get("reviewer"))
        item_id = body.get("item_id")
        if not isinstance(item_id, str) or not 0 < len(item_id) <= 64:
            raise _Refused(HTTPStatus.BAD_REQUEST, "item_id: expected a string")
        verdict = note = None
        if path == "/api/verdict":
            verdict = body.get("verdict")
            if verdict not in VERDICTS:
                raise _Refused(HTTPStatus.BAD_REQUEST, f"verdict: expected one of {', '.join(VERDICTS)}")
            extra = set(body) - {"reviewer", "item_id", "verdict"}
        else:
            note = body.get("note")
            if not isinstance(note, str) or len(note) > MAX_NOTE:
                raise _Refused(
                    HTTPStatus.BAD_REQUEST, f"note: expected a string of at most {MAX_NOTE} characters"
                )
            extra = set(body) - {"reviewer", "item_id", "note"}
        if extra:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"unknown field(s): {', '.join(sorted(extra))[:100]}")
        try:
            self.server.store.record(reviewer, item_id, verdict=verdict, note=note)
        except KeyError:
            raise _Refused(HTTPStatus.NOT_FOUND, "no such item in the sample") from None
        done, nxt = self.server.store.progress(reviewer)
        self._send(200, {"ok": True, "done": done, "next": nxt})

    def _body(self) -> dict[str, Any]:
        raw_len = self.headers.get("Content-Length")
        if raw_len is None or not (raw_len.isascii() and raw_len.isdigit()):
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        size = int(raw_len)
        if size > MAX_BODY:
            self.close_connection = True
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY} bytes")
        data = self.rfile.read(size)
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise _Refused(HTTPStatus.BAD_REQUEST, "body: not valid JSON") from None
        if not isinstance(body, dict):
            raise _Refused(HTTPStatus.BAD_REQUEST, "body: expected a JSON object")
        return body


def make_server(
    store: ReviewStore, *, host: str = "127.0.0.1", port: int = 8765, reviewer: str, token: str | None = None
) -> ReviewServer:
    """Bind the review server (``port=0`` picks a free port; ``server.url`` carries the token)."""
    if not REVIEWER_RE.match(reviewer):
        from alignforge.errors import AlignforgeError

        raise AlignforgeError(f"--reviewer {reviewer!r}: 1-64 letters, digits, space, _ . @ -")
    try:
        return ReviewServer((host, port), store, reviewer=reviewer, token=token)
    except OSError as exc:
        from alignforge.errors import AlignforgeError

        raise AlignforgeError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port (0 picks a free one)"
        ) from None


def is_loopback(host: str) -> bool:
    return host in _LOOPBACK
