"""The live-reload side of the preview: build status, the channel that carries it to open
pages, and the script the server adds to the HTML it sends (never to the built files)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from html import escape

from broadsheet.servefiles import CLIENT_PATH, EVENTS_PATH


@dataclass(frozen=True)
class BuildStatus:
    generation: int = 0  # build attempts so far
    site_generation: int = 0  # builds that changed the served files; pages reload when it moves
    ok: bool = True
    errors: tuple[tuple[str, str], ...] = ()  # (file:line, message)
    base_path: str = "/"

    def event(self) -> bytes:
        data = {"generation": self.generation, "site": self.site_generation, "ok": self.ok}
        data["errors"] = [{"where": where, "message": message} for where, message in self.errors]
        return f"event: build\nid: {self.generation}\ndata: {json.dumps(data)}\n\n".encode()


class StatusChannel:
    """The latest build status, and a way for reload streams to wait for the next one."""

    def __init__(self, initial: BuildStatus) -> None:
        self._status = initial
        self._changed = threading.Condition()
        self._closed = False

    @property
    def current(self) -> BuildStatus:
        with self._changed:
            return self._status

    def publish(self, status: BuildStatus) -> None:
        with self._changed:
            self._status = status
            self._changed.notify_all()

    def wait_after(self, generation: int, timeout: float) -> BuildStatus | None:
        """The status once it is newer than `generation` (or at the timeout); None once closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._status.generation != generation, timeout)
            return None if self._closed else self._status

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()


# A script file rather than inline code: it then runs under a page's own `script-src 'self'`.
_CLIENT_JS = """(() => {
  const built = Number(document.currentScript.dataset.site);
  const events = new EventSource(%(events)s);
  let box = null;
  function hide() { if (box) { box.remove(); box = null; } }
  function show(errors) {
    hide();
    box = document.createElement("div");
    box.id = "broadsheet-build-error";
    box.setAttribute("role", "alert");
    box.style.cssText = "position:fixed;inset:0 0 auto 0;z-index:2147483647;max-height:80vh;overflow:auto;" +
      "background:#fff5f5;color:#5c0a0a;border-bottom:4px solid #9b1c1c;padding:1rem 1.25rem;" +
      "font:14px/1.5 ui-monospace,monospace;box-shadow:0 4px 16px rgba(0,0,0,.25)";
    const title = document.createElement("strong");
    title.textContent = "Build failed \\u2014 showing the last good build. Fix the file and save to rebuild.";
    box.append(title);
    const list = document.createElement("ul");
    list.style.cssText = "margin:.5rem 0 0;padding-left:1.25rem";
    for (const error of errors) {
      const item = document.createElement("li");
      const where = document.createElement("b");
      where.textContent = error.where;
      item.append(where, document.createTextNode((error.where ? ": " : "") + error.message));
      list.append(item);
    }
    box.append(list);
    document.body.append(box);
  }
  events.addEventListener("build", (event) => {
    const status = JSON.parse(event.data);
    if (!status.ok) { show(status.errors); return; }
    if (status.site !== built) { location.reload(); return; }
    hide();
  });
})();
"""
CLIENT_JS = (_CLIENT_JS % {"events": json.dumps(EVENTS_PATH)}).encode()


def reload_script(site_generation: int) -> bytes:
    """The tag added to served pages; `site_generation` is the build the page came from."""
    return f'<script data-broadsheet-preview src="{CLIENT_PATH}" data-site="{site_generation}"></script>\n'.encode()


def inject(html: bytes, script: bytes) -> bytes:
    """Add the preview script before the last </body> (or at the end)."""
    at = html.lower().rfind(b"</body>")
    return html + script if at < 0 else html[:at] + script + html[at:]


def fallback_page(status: BuildStatus) -> bytes:
    """Shown when the site has no 404.html (say, before the first build succeeded)."""
    items = "".join(f"<li><b>{escape(w)}</b>: {escape(m)}</li>" for w, m in status.errors)
    detail = f"<p>The build failed:</p><ul>{items}</ul>" if not status.ok else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>'
        f"<body><h1>Not found</h1>{detail}</body></html>"
    ).encode()
