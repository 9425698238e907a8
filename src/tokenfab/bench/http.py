"""A minimal HTTP/1.1 client on raw asyncio protocols: the benchmark's hot path.

Why not httpx (which tokenfab used before): profiling an open loop at 100 req/s showed most busy CPU in httpx's pool
assigning queued requests to connections (it scans every connection for every queued request: quadratic in requests
in flight), with lazy start-up costing the first request 25-220 ms. This client does only what a benchmark needs:

* **Timestamps at the socket read.** :meth:`_Conn.data_received` takes ``time.perf_counter()`` first, then only
  de-chunks the body and appends ``(time, body length so far)``. SSE and JSON parsing happen after the response
  has ended (:func:`sse_events` maps each event to the time of the read that completed it), off the timing path.
* **A linear, bounded pool.** Idle keep-alive connections sit on a LIFO stack and waiters in a FIFO queue: acquire
  and release are O(1) whatever the number in flight. ``max_connections`` bounds the connections (and so the
  requests in flight); requests beyond it wait for a connection, and the wait shows as their schedule lag.
* **Eager start-up.** :meth:`Pool.warm` opens connections before the clock starts.

Framing: ``Content-Length``, ``Transfer-Encoding: chunked`` and read-until-close bodies; TLS through ``ssl``
(``https://``); no proxies, redirects, compression or HTTP/2. A response body is bounded by :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from tokenfab.core.errors import TokenfabError

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024  # one response; a hostile or broken server cannot grow memory past this
_perf = time.perf_counter

_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _DONE = range(5)


class HttpFault(Exception):
    """A transport-level failure of one exchange: ``kind`` is one of the client's error buckets."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Target:
    """Where requests go: scheme, host, port and the request path."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str, field: str = "--url") -> Target:
        try:
            u = urlsplit(url)
            port = u.port
        except ValueError as e:
            raise TokenfabError(
                f"not a valid URL ({e})", field=field, expected="http://HOST:PORT[/v1]", got=url
            ) from None
        if u.username is not None or u.password is not None:
            # never used (no Basic auth is sent) and would be printed in the results and the summary
            raise TokenfabError(
                "a URL cannot carry credentials (user:password@): tokenfab does not send them, and the URL is "
                "written into the results",
                field=field,
                expected="http://HOST:PORT[/v1], with an API key from --api-key-env",
                got=u._replace(netloc=u.netloc.rpartition("@")[2]).geturl(),
            )
        if u.scheme not in ("http", "https") or not u.hostname:
            raise TokenfabError("not an HTTP URL", field=field, expected="http://HOST:PORT[/v1]", got=url)
        if any(c in url for c in " \r\n\t"):
            raise TokenfabError("a URL cannot hold spaces or line breaks", field=field, got=url)
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        return cls(u.scheme, u.hostname, port or (443 if u.scheme == "https" else 80), path)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def build_request(target: Target, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    """The bytes of one HTTP/1.1 request (head and body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {target.host_header}", "User-Agent: tokenfab-bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class Exchange:
    """One request/response on a connection. After ``fut`` resolves: ``status``, ``headers`` (lower-case names),
    ``body`` (de-chunked), ``marks`` [(perf time of a read, body length after it)], ``t_send``, ``t_end``, and
    ``fault`` (an :class:`HttpFault`) or None."""

    __slots__ = (
        "body",
        "cbuf",
        "fault",
        "fut",
        "got_bytes",
        "hbuf",
        "headers",
        "keep_alive",
        "marks",
        "need_crlf",
        "remaining",
        "state",
        "status",
        "t_end",
        "t_send",
    )

    def __init__(self, fut: asyncio.Future):
        self.fut = fut
        self.state = _HEAD
        self.hbuf = b""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.marks: list[tuple[float, int]] = []
        self.remaining = 0
        self.cbuf = b""
        self.need_crlf = False
        self.t_send = 0.0
        self.t_end = 0.0
        self.fault: HttpFault | None = None
        self.keep_alive = True
        self.got_bytes = False

    # -- called from the protocol --
    def feed(self, t: float, data: bytes) -> None:
        self.got_bytes = True
        if self.state == _HEAD:
            rest = self._head(data)
            if rest is None:
                return
            data = rest
            if self.state == _DONE:
                return self._finish(t)
        n0 = len(self.body)
        if self.state == _LENGTH:
            take = data[: self.remaining]
            self.body += take
            self.remaining -= len(take)
            if self.remaining == 0:
                self.state = _DONE
        elif self.state == _CHUNKED:
            self._chunked(data)
        elif self.state == _UNTIL_CLOSE:
            self.body += data
        if len(self.body) != n0:
            self.marks.append((t, len(self.body)))
            if len(self.body) > MAX_BODY_BYTES:
                return self.fail(HttpFault("response_too_large", f"response body over {MAX_BODY_BYTES} bytes"))
        if self.state == _DONE:
            self._finish(t)

    def _head(self, data: bytes) -> bytes | None:
        buf = self.hbuf + data
        while True:
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    self.fail(HttpFault("connection_error", "response head too large"))
                    return None
                self.hbuf = buf
                return None
            lines = buf[:i].decode("latin-1").split("\r\n")
            rest = buf[i + 4 :]
            parts = lines[0].split(" ", 2)
            try:
                status = int(parts[1])
                assert parts[0].startswith("HTTP/")
            except (IndexError, ValueError, AssertionError):
                self.fail(HttpFault("connection_error", f"not an HTTP response: {lines[0][:80]!r}"))
                return None
            if 100 <= status < 200:  # 100 Continue and friends: the real response follows
                buf = rest
                continue
            break
        self.hbuf = b""
        self.status = status
        h = self.headers
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                h[k.strip().lower()] = v.strip()
        conn = h.get("connection", "").lower()
        self.keep_alive = ("close" not in conn) and (parts[0] != "HTTP/1.0" or "keep-alive" in conn)
        if "chunked" in h.get("transfer-encoding", "").lower():
            self.state = _CHUNKED
        elif "content-length" in h:
            try:
                self.remaining = int(h["content-length"])
            except ValueError:
                self.fail(HttpFault("connection_error", "bad Content-Length"))
                return None
            self.state = _LENGTH if self.remaining > 0 else _DONE
        elif status in (204, 304):
            self.state = _DONE
        else:
            self.state = _UNTIL_CLOSE
            self.keep_alive = False
        return rest

    def _chunked(self, data: bytes) -> None:
        buf = self.cbuf + data if self.cbuf else data
        pos, end = 0, len(buf)
        while pos < end:
            if self.remaining:
                n = min(self.remaining, end - pos)
                self.body += buf[pos : pos + n]
                pos += n
                self.remaining -= n
                if self.remaining:
                    break
                self.need_crlf = True
            if self.need_crlf:
                if end - pos < 2:
                    break
                pos += 2
                self.need_crlf = False
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                break
            try:
                size = int(buf[pos:nl].split(b";", 1)[0], 16)
            except ValueError:
                self.fail(HttpFault("stream_cut", "malformed chunked encoding"))
                return
            if size == 0:
                # the last chunk: the body is complete (trailers, if any, are not needed)
                tail = buf[nl + 2 :]
                if len(tail) < 2:
                    break  # wait for the closing CRLF, so the connection can be reused cleanly
                self.state = _DONE
                if tail[:2] != b"\r\n":
                    self.keep_alive = False  # trailers or junk: do not reuse the connection
                self.cbuf = b""
                return
            pos = nl + 2
            self.remaining = size
        self.cbuf = buf[pos:] if pos < end else b""

    def _finish(self, t: float) -> None:
        self.t_end = t
        if not self.fut.done():
            self.fut.set_result(None)

    def fail(self, fault: HttpFault) -> None:
        if self.fault is None and not self.fut.done():
            self.fault = fault
            self.keep_alive = False
            self.t_end = _perf()
            self.fut.set_result(None)

    def lost(self, exc: BaseException | None) -> None:
        if self.fut.done():
            return
        if self.state == _UNTIL_CLOSE:
            self.state = _DONE
            self.keep_alive = False
            return self._finish(_perf())
        if self.state == _HEAD and not self.got_bytes:
            kind, msg = "connection_error", "the connection closed before a response"
        else:
            kind, msg = "stream_cut", "the connection closed before the response ended"
        if exc is not None:
            msg += f" ({type(exc).__name__}: {exc})"
        self.fail(HttpFault(kind, msg))


class _Conn(asyncio.Protocol):
    __slots__ = ("closed", "ex", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.ex: Exchange | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's transport

    def data_received(self, data: bytes) -> None:
        t = _perf()  # first: the arrival time of this read
        ex = self.ex
        if ex is None:  # bytes nobody asked for: the connection cannot be trusted
            self.closed = True
            assert self.transport is not None  # connection_made comes before any data
            self.transport.abort()
            return
        ex.feed(t, data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.ex is not None:
            self.ex.lost(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Pool:
    """Keep-alive connections to one target, at most ``max_connections`` open (so at most that many requests in
    flight). O(1) acquire and release: a LIFO stack of idle connections and a FIFO queue of waiters."""

    def __init__(self, target: Target, max_connections: int, connect_timeout_s: float = 30.0):
        if max_connections < 1:
            raise TokenfabError("must be >= 1", field="max connections", got=max_connections)
        self.target = target
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self._idle: list[_Conn] = []
        self._waiters: deque[asyncio.Future] = deque()
        self._open = 0
        self._ssl = ssl.create_default_context() if target.scheme == "https" else None
        self.connections_made = 0
        self.max_in_flight = 0
        self._in_flight = 0

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    _Conn,
                    self.target.host,
                    self.target.port,
                    ssl=self._ssl,
                    server_hostname=self.target.host if self._ssl else None,
                )
        except TimeoutError:
            raise HttpFault("connection_error", f"connect timed out after {self.connect_timeout_s:g} s") from None
        except (OSError, ssl.SSLError) as e:
            raise HttpFault(
                "connection_error", f"cannot connect to {self.target.host}:{self.target.port} ({e})"
            ) from None
        self.connections_made += 1
        return conn

    async def acquire(self) -> _Conn:
        while self._idle:
            c = self._idle.pop()
            if not c.closed:
                return c
            self._open -= 1
        if self._open < self.max_connections:
            self._open += 1
            return await self._connect_slot()
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        c = await fut  # a connection handed over, or None: a slot to open a new one
        return await self._connect_slot() if c is None else c

    async def _connect_slot(self) -> _Conn:
        """Open a connection in a slot already counted in ``_open``; the slot is freed if that fails."""
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise

    def _wake_one(self) -> None:
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                self._open += 1
                w.set_result(None)
                return

    def release(self, c: _Conn, reusable: bool) -> None:
        if reusable and not c.closed:
            while self._waiters:
                w = self._waiters.popleft()
                if not w.done():
                    w.set_result(c)
                    return
            self._idle.append(c)
            return
        c.close()
        self._open -= 1
        self._wake_one()

    async def warm(self, n: int) -> int:
        """Open up to ``n`` connections now (before the clock starts); returns how many are idle and ready."""
        n = max(0, min(n, self.max_connections - self._open))
        self._open += n
        results = await asyncio.gather(*(self._connect() for _ in range(n)), return_exceptions=True)
        for r in results:
            if isinstance(r, _Conn):
                self._idle.append(r)
            else:
                self._open -= 1
        return len(self._idle)

    async def send(self, payload: bytes, timeout_s: float) -> Exchange:
        """Send one request and wait for the whole response (or a fault, recorded on the exchange)."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        ex = Exchange(fut)
        deadline = loop.time() + timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                conn = await self.acquire()
        except TimeoutError:
            ex.fault = HttpFault("timeout", f"no connection within {timeout_s:g} s")
            ex.t_send = ex.t_end = _perf()
            return ex
        except HttpFault as f:
            ex.fault = f
            ex.t_send = ex.t_end = _perf()
            return ex
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        conn.ex = ex
        handle = loop.call_at(deadline, _expire, ex, conn, timeout_s)
        ex.t_send = _perf()
        try:
            assert conn.transport is not None  # a connection from the pool is connected
            conn.transport.write(payload)
            await fut
        finally:
            handle.cancel()
            conn.ex = None
            self._in_flight -= 1
            ok = fut.done() and not fut.cancelled() and ex.fault is None and ex.state == _DONE
            self.release(conn, ok and ex.keep_alive)
        return ex

    def close(self) -> None:
        for c in self._idle:
            c.close()
        self._idle.clear()
        self._open = 0
        for w in self._waiters:
            if not w.done():
                w.cancel()
        self._waiters.clear()


def _expire(ex: Exchange, conn: _Conn, timeout_s: float) -> None:
    ex.fail(HttpFault("timeout", f"no complete response within {timeout_s:g} s"))
    conn.close()


def sse_events(body: bytes | bytearray, marks: list[tuple[float, int]]) -> list[tuple[float, bytes]]:
    """The ``data:`` payloads of an SSE body, each with the arrival time of the read that completed its line.

    ``marks`` are (time, body length after that read) in order, as the client records them. Lines that are blank,
    comments (``:``) or other fields (``event:``, ``id:``, ``retry:``) are skipped.
    """
    out: list[tuple[float, bytes]] = []
    if not marks:
        return out
    mi, n_marks = 0, len(marks)
    pos = 0
    view = bytes(body)
    end = len(view)
    while pos < end:
        nl = view.find(b"\n", pos)
        line_end = end if nl < 0 else nl + 1
        if view.startswith(b"data:", pos):
            while mi < n_marks - 1 and marks[mi][1] < line_end:
                mi += 1
            out.append((marks[mi][0], view[pos + 5 : (nl if nl >= 0 else end)].strip()))
        pos = line_end
    return out
