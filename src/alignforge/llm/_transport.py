"""A lean HTTP/1.1 keep-alive transport for the SDKs' httpx2 clients.

The official ``openai`` and ``anthropic`` SDKs accept ``http_client=``. Their default
transport (httpcore) spends several milliseconds of CPU per request at high
concurrency (its pool scans every connection for every request), which at 64 in
flight costs more than the network wait. This transport keeps idle connections in a
list per host, writes the request in one go and reads the reply with asyncio
streams; everything else (request building, auth, errors, parsing) stays the SDK's.
Timeouts and socket errors surface as httpx2's own exceptions, so the SDKs map them
to ``APITimeoutError`` / ``APIConnectionError`` as usual.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx2  # the SDKs (openai 3.x, anthropic 2.x) are built on it; imported with them

_MAX_HEADER_LINES = 200


class LeanTransport(httpx2.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_host: int = 512) -> None:
        self._idle: dict[tuple[str, str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}
        self._max_idle = max_idle_per_host
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                import certifi

                self._ssl = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                self._ssl = ssl.create_default_context()
        return self._ssl

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        https = url.scheme == "https"
        host = url.host
        port = url.port or (443 if https else 80)
        origin = (url.scheme, host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = await request.aread()
        head = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
        head += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        if body and b"content-length" not in (k.lower() for k, _ in request.headers.raw):
            head.append(b"content-length: %d" % len(body))
        data = b"\r\n".join(head) + b"\r\n\r\n" + body
        idle = self._idle.setdefault(origin, [])
        for reused in (True, False):
            conn = None
            while idle and reused:
                cand = idle.pop()
                if not cand[1].is_closing() and not cand[0].at_eof():
                    conn = cand
                    break
            if conn is None:
                if not reused:
                    conn = await self._connect(request, host, port, https, timeouts.get("connect"))
                else:
                    continue
            reader, writer = conn
            try:
                writer.write(data)
                async with asyncio.timeout(timeouts.get("read")):
                    status, headers, content, keep = await _read_response(reader, request.method)
            except TimeoutError:
                writer.close()
                raise httpx2.ReadTimeout(
                    f"no reply from {host}:{port} in {timeouts.get('read')} s", request=request
                ) from None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                writer.close()
                if reused:  # a kept-alive connection the server had closed: try once on a fresh one
                    continue
                raise httpx2.RemoteProtocolError(
                    f"connection to {host}:{port} failed: {exc!r}", request=request
                ) from None
            if keep and len(idle) < self._max_idle:
                idle.append(conn)
            else:
                writer.close()
            return httpx2.Response(
                status,
                headers=headers,
                content=content,
                request=request,
                extensions={"http_version": b"HTTP/1.1"},
            )
        raise AssertionError("unreachable")

    async def _connect(
        self, request: httpx2.Request, host: str, port: int, https: bool, timeout: float | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=self._ssl_context() if https else None,
                    server_hostname=host if https else None,
                    limit=1 << 24,
                ),
                timeout,
            )
        except TimeoutError:
            raise httpx2.ConnectTimeout(
                f"connecting to {host}:{port} took over {timeout} s", request=request
            ) from None
        except OSError as exc:
            raise httpx2.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from None

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()


async def _read_response(
    reader: asyncio.StreamReader, method: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    line = await reader.readline()
    if not line:
        raise asyncio.IncompleteReadError(b"", None)
    parts = line.split(None, 2)
    version, status = parts[0], int(parts[1])
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep = version == b"HTTP/1.1"
    for _ in range(_MAX_HEADER_LINES):
        h = await reader.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise asyncio.IncompleteReadError(b"", None)
        k, _, v = h.partition(b":")
        k, v = k.strip(), v.strip()
        headers.append((k, v))
        low = k.lower()
        if low == b"content-length":
            length = int(v)
        elif low == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
        elif low == b"connection":
            keep = v.lower() == b"keep-alive" or (keep and v.lower() != b"close")
    else:
        raise ValueError("too many header lines")
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", keep
    if chunked:
        out = bytearray()
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            out += await reader.readexactly(size)
            await reader.readexactly(2)
        headers = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
        return status, headers, bytes(out), keep
    if length is not None:
        return status, headers, await reader.readexactly(length), keep
    return status, headers, await reader.read(), False


def http_client(kind: str, timeout: float) -> httpx2.AsyncClient | None:
    """The ``http_client`` for an SDK client: ours (``lean``) or None for the SDK's default (``httpx``)."""
    if kind == "httpx":
        return None
    return httpx2.AsyncClient(transport=LeanTransport(), timeout=timeout, follow_redirects=True)
