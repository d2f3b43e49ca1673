"""broadsheet.fetch against real HTTP servers on 127.0.0.1: safety rules, caps, conditional GET.

Refusals of private and link-local addresses are checked before any connection is attempted, so the
tests that name 10.x / 169.254.x addresses send no traffic anywhere."""

from __future__ import annotations

import gzip
import socket
import time

import pytest
from web_helpers import local_server, serve_conditional
from werkzeug import Request, Response

from broadsheet.fetch import FetchError, FetchPolicy, address_refusal, fetch

LOOPBACK = FetchPolicy(allow_loopback=True)


@pytest.fixture
def server():
    with local_server() as s:
        yield s


def test_plain_get_returns_body_headers_and_final_url(server):
    server.expect_request("/feed.xml").respond_with_data(b"<rss/>", content_type="application/rss+xml")
    response = fetch(server.url_for("/feed.xml"), policy=LOOPBACK)
    assert response.status == 200
    assert response.body == b"<rss/>"
    assert response.content_type == "application/rss+xml"
    assert response.url == server.url_for("/feed.xml")


def test_loopback_is_refused_unless_allowed(server):
    server.expect_request("/feed.xml").respond_with_data(b"<rss/>")
    with pytest.raises(FetchError, match="loopback"):
        fetch(server.url_for("/feed.xml"))
    assert server.log == []  # refused before connecting, not after
    with pytest.raises(FetchError, match="loopback"):
        fetch(server.url_for("/feed.xml").replace("127.0.0.1", "localhost"))


@pytest.mark.parametrize(
    "address, reason",
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("0.0.0.0", "address"),  # unspecified: refused, whichever rule names it
        ("224.0.0.1", "non-public"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_non_public_addresses_are_refused_even_with_loopback_allowed(address, reason):
    assert reason in (address_refusal(address, allow_loopback=True) or "")


def test_public_and_allowed_loopback_addresses_pass():
    assert address_refusal("93.184.216.34", allow_loopback=False) is None
    assert address_refusal("2606:4700::1111", allow_loopback=False) is None
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("::1", allow_loopback=True) is None
    assert address_refusal("::1", allow_loopback=False) == "a loopback address"


@pytest.mark.parametrize("target", ["http://10.0.0.7/feed.xml", "http://169.254.169.254/latest/meta-data/"])
def test_redirect_to_a_private_address_is_refused(server, target):
    server.expect_request("/moved").respond_with_data("", status=302, headers={"Location": target})
    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/moved"), policy=LOOPBACK)
    assert "refused" in str(caught.value)
    assert caught.value.path == target  # the error names the hop that was refused


def test_redirect_to_a_host_resolving_privately_is_refused_before_connecting(server):
    server.expect_request("/moved").respond_with_data("", status=301, headers={"Location": "http://intranet.test/x"})
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if host == "127.0.0.1" else ["10.9.8.7"]

    with pytest.raises(FetchError, match="intranet.test resolves to 10.9.8.7, a private address"):
        fetch(server.url_for("/moved"), policy=LOOPBACK, resolver=resolver)
    assert asked == ["127.0.0.1", "intranet.test"]


def test_a_host_with_one_private_address_among_public_ones_is_refused():
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "192.168.1.1"]

    with pytest.raises(FetchError, match="192.168.1.1"):
        fetch("http://mixed.test/", resolver=resolver)


def test_redirects_are_followed_up_to_the_cap(server):
    for n in range(4):
        server.expect_request(f"/r{n}").respond_with_data("", status=302, headers={"Location": f"/r{n + 1}"})
    server.expect_request("/r4").respond_with_data(b"arrived")
    assert fetch(server.url_for("/r0"), policy=LOOPBACK).body == b"arrived"
    with pytest.raises(FetchError, match="more than 2 redirects"):
        fetch(server.url_for("/r0"), policy=FetchPolicy(allow_loopback=True, max_redirects=2))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "gopher://x/", "javascript:1"])
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(FetchError, match="only http and https"):
        fetch(url, policy=LOOPBACK)


def test_redirect_to_a_file_url_is_refused(server):
    server.expect_request("/sneaky").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="only http and https"):
        fetch(server.url_for("/sneaky"), policy=LOOPBACK)


def test_oversized_response_is_cut_off_and_reported(server):
    big = b"x" * 300_000
    server.expect_request("/big").respond_with_data(big)
    policy = FetchPolicy(allow_loopback=True, max_bytes=100_000)
    with pytest.raises(FetchError, match="too large"):
        fetch(server.url_for("/big"), policy=policy)
    assert fetch(server.url_for("/big"), policy=FetchPolicy(allow_loopback=True, max_bytes=400_000)).body == big


def test_oversized_response_without_length_is_cut_off_while_streaming(server):
    def stream(request: Request) -> Response:
        return Response((b"y" * 65536 for _ in range(50)), content_type="text/plain")  # chunked, no length

    server.expect_request("/stream").respond_with_handler(stream)
    with pytest.raises(FetchError, match="cut off at 200,000 bytes"):
        fetch(server.url_for("/stream"), policy=FetchPolicy(allow_loopback=True, max_bytes=200_000))


def test_decompression_bomb_is_cut_off_after_decompression(server):
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB inflated
    server.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="after decompression"):
        fetch(server.url_for("/bomb"), policy=FetchPolicy(allow_loopback=True, max_bytes=1_000_000))


def test_gzip_bodies_are_decoded(server):
    server.expect_request("/gz").respond_with_data(
        gzip.compress(b"<rss>ok</rss>"), headers={"Content-Encoding": "gzip"}
    )
    assert fetch(server.url_for("/gz"), policy=LOOPBACK).body == b"<rss>ok</rss>"


def test_a_server_that_drips_bytes_is_stopped_by_the_overall_time_limit(server):
    def drip(request: Request) -> Response:
        def body():
            for _ in range(40):
                time.sleep(0.1)
                yield b"."

        return Response(body(), content_type="text/plain")

    server.expect_request("/slow").respond_with_handler(drip)
    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url_for("/slow"), policy=FetchPolicy(allow_loopback=True, timeout=0.5))


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never responds
    try:
        port = listener.getsockname()[1]
        with pytest.raises(FetchError, match="timed out"):
            fetch(f"http://127.0.0.1:{port}/", policy=FetchPolicy(allow_loopback=True, timeout=0.5))
    finally:
        listener.close()


def test_conditional_get_returns_not_modified_on_the_second_fetch(server):
    seen = serve_conditional(server, "/feed.xml", b"<rss>v1</rss>", "application/rss+xml")
    first = fetch(server.url_for("/feed.xml"), policy=LOOPBACK)
    assert first.status == 200 and first.etag and first.last_modified
    second = fetch(server.url_for("/feed.xml"), etag=first.etag, last_modified=first.last_modified, policy=LOOPBACK)
    assert second.not_modified and second.body == b""
    assert seen[1]["if-none-match"] == first.etag
    assert seen[1]["if-modified-since"] == first.last_modified
    assert "if-none-match" not in seen[0]


def test_http_errors_are_reported_with_the_status(server):
    server.expect_request("/gone").respond_with_data("nope", status=410)
    with pytest.raises(FetchError, match="HTTP 410"):
        fetch(server.url_for("/gone"), policy=LOOPBACK)


def test_a_closed_port_is_a_connection_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(FetchError, match="connection failed"):
        fetch(f"http://127.0.0.1:{port}/feed.xml", policy=LOOPBACK)
