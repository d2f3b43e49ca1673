"""Open pages in real Chromium with alert/prompt/confirm/print trapped; print what fired as JSON.

Run as a script by test_xss_browser.py (its own process, so its Playwright instance can't clash
with the browser tests' session-wide one):

    python browser_probe.py ORIGIN PATH [PATH ...]

For each path the page is loaded, given time for timers, onerror/onload and animations, its
filter chips (the site's own JavaScript) are clicked, and the live DOM is inspected the way the
browser itself resolves it: event-handler attributes, scripts, and the protocol of every URL.
Only ORIGIN is reachable; every other request is aborted.
"""

from __future__ import annotations

import contextlib
import json
import sys
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

TRAP = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__xss", { value: hits, writable: false, configurable: false });
  for (const name of ["alert", "prompt", "confirm", "print"]) {
    const trap = function (...args) { hits.push(name + "(" + args.map(String).join(",") + ")"); };
    Object.defineProperty(window, name, { value: trap, writable: false, configurable: false });
  }
})();
"""

DOM_CHECK = """
() => {
  const bad = [];
  const okScheme = (v) => !/^(javascript|vbscript|data|blob|file):/i.test(v);
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith("on")) bad.push(`${el.tagName} ${a.name}=${a.value.slice(0, 60)}`);
    }
    if (el.tagName === "SCRIPT" && el.type !== "application/ld+json") {
      if (!el.src || new URL(el.src).origin !== location.origin) bad.push(`script ${el.outerHTML.slice(0, 80)}`);
    }
    for (const prop of ["href", "src", "action", "formAction", "srcset"]) {
      const v = el[prop];
      if (typeof v === "string" && v && !okScheme(v)) bad.push(`${el.tagName}.${prop}=${v.slice(0, 60)}`);
    }
    if (/^(IFRAME|FRAME|OBJECT|EMBED|BASE|PORTAL)$/.test(el.tagName)) bad.push(el.tagName);
  }
  return bad;
}
"""


def probe(origin: str, paths: list[str]) -> dict[str, object]:
    results: dict[str, object] = {"pages": {}, "dialogs": [], "blocked": 0}
    host = urlsplit(origin).netloc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(service_workers="block")
        context.add_init_script(TRAP)

        def route(r) -> None:  # noqa: ANN001 - playwright Route
            if urlsplit(r.request.url).netloc == host:
                r.continue_()
            else:
                results["blocked"] += 1  # type: ignore[operator]
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("dialog", lambda d: (results["dialogs"].append(d.message), d.dismiss()))  # type: ignore[union-attr]
        for path in paths:
            response = page.goto(origin + path, wait_until="load")
            page.wait_for_timeout(150)  # timers, animations, image errors
            for chip in page.query_selector_all(".filters button.chip")[:4]:
                chip.click()
            if "search" in path:
                with contextlib.suppress(PlaywrightTimeout):  # no results is reported below, by count
                    page.wait_for_selector("#search-results li", timeout=5000)
                results.setdefault("search_results", {})[path] = page.eval_on_selector_all(  # type: ignore[union-attr]
                    "#search-results li", "els => els.length"
                )
            results["pages"][path] = {  # type: ignore[index]
                "fired": page.evaluate("() => [...window.__xss]"),
                "dom": page.evaluate(DOM_CHECK),
                "title": page.title(),
                "status": response.status if response else None,
            }
        browser.close()
    return results


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], sys.argv[2:])))
