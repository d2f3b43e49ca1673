"""`broadsheet serve`: build, serve the output over HTTP on loopback, rebuild on change, reload pages.

No build logic here: every build is `builder.build(...)`. Which file answers a request is
`servefiles`' job (only regular files inside the output folder; anything else is the site's
404 page); the reload channel and the script added to pages are `reload`'s.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from broadsheet.builder import BuildOptions, build
from broadsheet.config import CONFIG_NAME, SiteConfig
from broadsheet.errors import BroadsheetError, BuildFailed
from broadsheet.guards import check_output_dir
from broadsheet.reload import CLIENT_JS, BuildStatus, StatusChannel, fallback_page, inject, reload_script
from broadsheet.servefiles import content_type, read_regular_file, resolve_target
from broadsheet.spare_fill import settle_spare
from broadsheet.watch import SourceWatcher, WatchSpec
from broadsheet.write import MissingOutput

_KEEPALIVE_SECONDS = 15.0


# --- HTTP -------------------------------------------------------------------------------------
def host_allowed(host: str | None, port: int) -> bool:
    """Only `localhost` or an IP literal on our port: a DNS-rebinding page carries its own name."""
    if not host:
        return False
    try:
        parts = urlsplit("//" + host)
        name, given_port = parts.hostname, parts.port
    except ValueError:
        return False
    if (given_port or 80) != port or not name:
        return False
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], output_dir: Path, channel: StatusChannel) -> None:
        self.output_dir = output_dir
        self.channel = channel
        super().__init__(address, PreviewHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a reader who went away (closed the tab, navigated on): nothing to report
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "broadsheet-preview"
    timeout = 30  # seconds a connection may sit silent (the event stream only ever writes)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # requests are not news; build results are printed instead

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        if not host_allowed(self.headers.get("Host"), self.server.port):
            self._send(HTTPStatus.FORBIDDEN, b"wrong Host header\n", "text/plain; charset=utf-8", head)
            return
        status = self.server.channel.current
        target = resolve_target(self.path, status.base_path, self.server.output_dir)
        if target.kind == "events":
            self._events(head)
        elif target.kind == "client":
            self._send(HTTPStatus.OK, CLIENT_JS, "text/javascript; charset=utf-8", head)
        elif target.kind == "redirect":
            # 302, not 301: browsers keep 301s for good, and a preview's base path can change.
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", target.location or "/")
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
        else:
            data = read_regular_file(target.path) if target.path else None
            if data is None:
                self._not_found(status, head)
                return
            kind = content_type(target.path)  # type: ignore[arg-type]
            if kind.startswith("text/html"):
                data = inject(data, reload_script(status.site_generation))
            self._send(HTTPStatus.OK, data, kind, head)

    def _not_found(self, status: BuildStatus, head: bool) -> None:
        page = read_regular_file(self.server.output_dir / "404.html")
        body = page if page is not None else fallback_page(status)
        body = inject(body, reload_script(status.site_generation))
        self._send(HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8", head)

    def _send(self, code: HTTPStatus, body: bytes, kind: str, head: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if kind.startswith("image/svg"):
            # Images come from strangers' articles: an SVG opened directly must not run script.
            self.send_header("Content-Security-Policy", "script-src 'none'")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self, head: bool) -> None:
        origin = self.headers.get("Origin")
        fetch_site = self.headers.get("Sec-Fetch-Site")
        own_origin = f"http://{self.headers.get('Host')}"
        if (origin is not None and origin != own_origin) or fetch_site in ("cross-site", "same-site"):
            self._send(HTTPStatus.FORBIDDEN, b"cross-origin request refused\n", "text/plain; charset=utf-8", head)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        self.close_connection = True
        channel = self.server.channel
        try:
            status = channel.current
            self.wfile.write(b"retry: 500\n\n" + status.event())
            while True:
                newer = channel.wait_after(status.generation, _KEEPALIVE_SECONDS)
                if newer is None:
                    return
                if newer.generation == status.generation:
                    self.wfile.write(b": keepalive\n\n")  # also notices a reader that went away
                    continue
                status = newer
                self.wfile.write(status.event())
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return


# --- the serve command ------------------------------------------------------------------------
@dataclass(frozen=True)
class ServeOptions:
    bind: str = "127.0.0.1"
    port: int = 8000
    content_dir: Path | None = None
    output_dir: Path | None = None  # default: a temporary folder, removed on exit
    templates_dir: Path | None = None
    config_file: Path | None = None
    base_url: str | None = None
    drafts: bool = False


def _url_host(bind: str) -> str:
    """The host to put in preview links: the bound address, or loopback for a wildcard bind."""
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        return bind
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)


def is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def preview_base_url(base_url: str, host: str, port: int) -> str:
    """The configured base URL's path on our own address, so the preview's links stay local."""
    path = urlsplit(base_url).path or "/"
    return f"http://{host}:{port}{path if path.endswith('/') else path + '/'}"


def _make_server(bind: str, port: int, output_dir: Path, channel: StatusChannel) -> PreviewServer:
    try:
        family = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror as exc:
        raise BroadsheetError(f"cannot bind to {bind!r}: {exc.strerror}") from None
    server_class = type("PreviewServer", (PreviewServer,), {"address_family": family})
    try:
        return server_class((bind, port), output_dir, channel)
    except OSError as exc:
        hint = " (in use? try --port 0 for any free port)" if exc.errno == errno.EADDRINUSE else ""
        raise BroadsheetError(f"cannot listen on {bind}:{port}: {exc.strerror}{hint}") from None


class Preview:
    """One preview session: rebuilds with `builder.build` and publishes each result to the channel."""

    def __init__(
        self, load: Callable[[], SiteConfig], options: ServeOptions, output_dir: Path, base_path: str, out: TextIO
    ) -> None:
        self.load = load
        self.options = options
        self.output_dir = output_dir
        self.out = out
        self.channel = StatusChannel(BuildStatus(ok=True, base_path=base_path))
        # Whether the last build may have left the spare tree out of step with most of the site (a
        # full build; the first build, which may find one left by an earlier command): see `settle`.
        self.unsettled = True

    def rebuild(self, host: str, port: int) -> BuildStatus:
        previous = self.channel.current
        generation = previous.generation + 1
        try:
            config = self.load()
            base_url = preview_base_url(self.options.base_url or config.base_url, host, port)
            result = build(
                config,
                BuildOptions(
                    content_dir=self.options.content_dir,
                    output_dir=self.output_dir,
                    templates_dir=self.options.templates_dir,
                    base_url=base_url,
                    drafts=self.options.drafts,
                    fill_spare=False,  # settled with copies instead (`settle`)
                ),
            )
        except BuildFailed as failed:
            status = self._failed(previous, generation, failed.errors)
        except BroadsheetError as error:
            status = self._failed(previous, generation, [error])
        except Exception as error:  # noqa: BLE001 - a preview must outlive a bug; the message says what broke
            status = self._failed(previous, generation, [BroadsheetError(f"internal error: {error!r}")])
        else:
            site = previous.site_generation + (1 if result.stats.swapped or not previous.ok else 0)
            base_path = urlsplit(base_url).path
            status = BuildStatus(generation, site, True, (), base_path)
            self.unsettled = self.unsettled or (result.stats.swapped and not result.quick)
            s = result.stats
            print(
                f"built {result.articles} articles ({s.written} written, {s.removed} removed) in {result.seconds:.2f}s",
                file=self.out,
                flush=True,
            )
        self.channel.publish(status)
        return status

    def settle(self) -> None:
        """After a build that rewrote the site, bring the spare output tree in step now, while the
        page is read, rather than first thing in the next rebuild (`spare_fill.settle_spare`): then the
        first edit after it is as quick as any other. Edits made meanwhile wait for it."""
        if not self.unsettled:
            return
        self.unsettled = False
        # Only time is at stake: the next build brings the spare in step itself, and reports what fails.
        with contextlib.suppress(BroadsheetError, MissingOutput, OSError):
            settle_spare(self.output_dir)

    def _failed(self, previous: BuildStatus, generation: int, errors: list[BroadsheetError]) -> BuildStatus:
        for error in errors:
            print(f"error: {error}", file=self.out, flush=True)
        print("build failed; still serving the last good build", file=self.out, flush=True)
        views = tuple(_error_view(e) for e in errors)
        return BuildStatus(generation, previous.site_generation, False, views, previous.base_path)


def _error_view(error: BroadsheetError) -> tuple[str, str]:
    where = error.path or ""
    if where and error.line:
        where = f"{where}:{error.line}"
    return where, error.message


def watch_spec(config: SiteConfig, options: ServeOptions, output_dir: Path) -> WatchSpec:
    content = (options.content_dir or config.path("content_dir")).resolve()
    templates = (options.templates_dir or config.path("templates_dir")).resolve()
    config_file = (options.config_file or config.root / CONFIG_NAME).resolve()
    return WatchSpec(
        folders=(content, templates),
        files=(config_file,),
        ignore=(output_dir.resolve(),),
    )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`) stops the preview as cleanly as Ctrl-C does. So does SIGINT
    when the preview was started with it ignored, as a shell script's background job (`&`) is: Python
    then leaves it ignored, and `kill -INT` did nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def serve(
    load: Callable[[], SiteConfig],
    options: ServeOptions,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stop: threading.Event | None = None,
) -> int:
    """Build, serve and rebuild on change until Ctrl-C, SIGTERM or `stop`. Returns the exit code."""
    stop = stop or threading.Event()
    config = load()  # a broken site.toml at start is the user's to fix before there is anything to show
    if not is_loopback(options.bind):
        print(
            f"warning: --bind {options.bind} makes the preview reachable from other machines on your network; "
            "it is meant for your own browser",
            file=err,
            flush=True,
        )
    with contextlib.ExitStack() as cleanup:
        output_dir = options.output_dir
        if output_dir is not None:
            # Refuse a wrong --output now, not as a "build error" in a page nobody can open.
            content = (options.content_dir or config.path("content_dir")).resolve()
            check_output_dir(output_dir, project_root=config.root, content_dir=content)
        else:
            # The preview's links point at this machine, so by default it never builds into site/:
            # a later publish of site/ must not ship 127.0.0.1 URLs.
            scratch = tempfile.mkdtemp(prefix="broadsheet-preview-")
            cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
            output_dir = Path(scratch) / "site"
        output_dir = output_dir.resolve()
        base_path = urlsplit(preview_base_url(options.base_url or config.base_url, "localhost", 0)).path
        preview = Preview(load, options, output_dir, base_path, out)
        server = _make_server(options.bind, options.port, output_dir, preview.channel)
        cleanup.callback(server.server_close)
        cleanup.callback(preview.channel.close)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="broadsheet-http")
        thread.start()
        cleanup.callback(thread.join, 5)
        cleanup.callback(server.shutdown)
        cleanup.callback(stop.set)
        host = _url_host(options.bind)
        try:
            with _terminate_as_interrupt():
                watcher = SourceWatcher(watch_spec(config, options, output_dir), stop)
                watcher.start()  # before the first build: an edit made during it is not lost
                status = preview.rebuild(host, server.port)
                print(f"serving http://{host}:{server.port}{status.base_path} (Ctrl-C to stop)", file=out, flush=True)
                preview.settle()
                for _changed in watcher.changes():
                    preview.rebuild(host, server.port)
                    preview.settle()
        except KeyboardInterrupt:
            pass
    print("stopped", file=out, flush=True)
    return 0
