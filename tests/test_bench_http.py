"""The raw HTTP/1.1 client of the benchmark: framing (chunked, Content-Length, until close) whatever the network
splits, event times from the read that completed each SSE line, URL checks, and the bounded pool against the mock."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfab.bench.http import Exchange, Pool, Target, build_request, sse_events
from tokenfab.bench.mockserver import MockServer
from tokenfab.core.errors import TokenfabError

EVENTS = [
    b'data: {"choices":[{"text":" a"}]}\n\n',
    b": keep-alive\n\n",
    b'data: {"choices":[{"text":" b"}]}\n\n',
    b"data: [DONE]\n\n",
]
BODY = b"".join(EVENTS)


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


HEAD_CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def _feed(raw: bytes, cuts: list[int]) -> Exchange:
    loop = asyncio.new_event_loop()
    try:
        ex = Exchange(loop.create_future())
        pos = 0
        for i, c in enumerate(sorted(set(cuts)) + [len(raw)]):
            if c > pos:
                ex.feed(float(i), raw[pos:c])
                pos = c
        return ex
    finally:
        loop.close()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, len(HEAD_CHUNKED) + len(_chunked(EVENTS))), max_size=12))
def test_chunked_body_is_rebuilt_whatever_the_reads(cuts):
    raw = HEAD_CHUNKED + _chunked(EVENTS)
    ex = _feed(raw, cuts)
    assert ex.fut.done() and ex.fault is None and ex.status == 200
    assert bytes(ex.body) == BODY and ex.keep_alive
    assert [d for _, d in sse_events(ex.body, ex.marks)] == [
        b'{"choices":[{"text":" a"}]}',
        b'{"choices":[{"text":" b"}]}',
        b"[DONE]",
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 200), max_size=6))
def test_content_length_body(cuts):
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    ex = _feed(raw, cuts)
    assert ex.fut.done() and bytes(ex.body) == BODY and ex.fault is None


def test_event_time_is_the_read_that_completed_its_line():
    # read 0: head; read 1: the first event and half of the second; read 2: the rest
    raw = HEAD_CHUNKED + _chunked(EVENTS)
    i = raw.index(b'text":" b') - 10
    ex = _feed(raw, [len(HEAD_CHUNKED), i])
    times = [t for t, _ in sse_events(ex.body, ex.marks)]
    assert times == [1.0, 2.0, 2.0]


def test_until_close_body_and_cut_stream():
    loop = asyncio.new_event_loop()
    try:
        ex = Exchange(loop.create_future())
        ex.feed(0.0, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + EVENTS[0])
        assert not ex.fut.done()
        ex.lost(None)  # a body without length ends when the connection closes
        assert ex.fut.done() and ex.fault is None and not ex.keep_alive
        cut = Exchange(loop.create_future())
        cut.feed(0.0, HEAD_CHUNKED + b"%x\r\n%s\r\n" % (len(EVENTS[0]), EVENTS[0]))
        cut.lost(ConnectionResetError("reset"))
        assert cut.fault.kind == "stream_cut"
        never = Exchange(loop.create_future())
        never.lost(None)
        assert never.fault.kind == "connection_error"
        junk = Exchange(loop.create_future())
        junk.feed(0.0, b"SSH-2.0-OpenSSH\r\n\r\n")
        assert junk.fault.kind == "connection_error"
        bad = Exchange(loop.create_future())
        bad.feed(0.0, HEAD_CHUNKED + b"zz\r\n")
        assert bad.fault.kind == "stream_cut"
    finally:
        loop.close()


def test_100_continue_then_response():
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    ex = _feed(raw, [5])
    assert ex.fut.done() and ex.status == 204 and ex.body == b""


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8000",
        "ftp://h/v1",
        "http://",
        "http://h:99999",
        "http://h:x/",
        "http://h /v1",
        "http://h\r\nX: y",
        "",
    ],
)
def test_bad_urls_are_clear_errors(url):
    with pytest.raises(TokenfabError, match="--url"):
        Target.from_url(url)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=40))
def test_url_fuzz_never_crashes(text):
    try:
        t = Target.from_url(text)
    except TokenfabError:
        return
    assert t.scheme in ("http", "https") and 0 < t.port < 65536


def test_target_and_request_bytes():
    t = Target.from_url("https://example.test/v1/completions?x=1")
    assert (t.port, t.path, t.host_header) == (443, "/v1/completions?x=1", "example.test")
    raw = build_request(Target.from_url("http://h:8000/v1"), "POST", "/v1", b"{}", {"A": "b"})
    assert raw.startswith(b"POST /v1 HTTP/1.1\r\nHost: h:8000\r\n") and raw.endswith(b"Content-Length: 2\r\n\r\n{}")


async def test_pool_bounds_connections_and_reuses_them():
    srv = await MockServer().start()
    try:
        t = Target.from_url(srv.url + "/health")
        pool = Pool(t, 3)
        req = build_request(t, "GET", "/health", None, {})
        exs = await asyncio.gather(*(pool.send(req, 10) for _ in range(40)))
        assert all(e.status == 200 and e.fault is None for e in exs)
        assert pool.max_in_flight <= 3 and pool.connections_made <= 3  # bounded, and kept alive
        pool.close()
    finally:
        await srv.stop()


async def test_pool_timeout_and_refused():
    srv = await MockServer().start()
    port = srv.port
    await srv.stop()
    await asyncio.sleep(0.05)
    pool = Pool(Target.from_url(f"http://127.0.0.1:{port}/x"), 2, connect_timeout_s=2)
    ex = await pool.send(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 2)
    assert ex.fault is not None and ex.fault.kind == "connection_error"


def test_a_url_with_credentials_is_refused_without_echoing_them():
    """http://user:password@host: tokenfab sends no Basic auth, and the URL went into --json and --summary."""
    from tokenfab.bench.http import Target
    from tokenfab.core.errors import TokenfabError

    with pytest.raises(TokenfabError) as e:
        Target.from_url("http://user:s3cretpw@10.0.0.1:8000/v1")
    assert e.value.field == "--url" and "s3cretpw" not in str(e.value) and "user" not in str(e.value).split("got")[1]
