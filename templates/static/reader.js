/* Broadsheet reader enhancements: theme toggle, keyboard navigation, read markers, list filters and
   offline reading. The site works without any of this; every feature only adds to plain HTML. */
(() => {
  "use strict";
  const script = document.currentScript;
  const base = (script && script.dataset.base) || "/";
  const root = document.documentElement;
  // Several Broadsheet sites may share an origin under different base paths: keep their state apart.
  const prefix = `broadsheet:${base}:`;
  const store = {
    get(key) {
      try {
        return JSON.parse(localStorage.getItem(prefix + key));
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value === null) localStorage.removeItem(prefix + key);
        else localStorage.setItem(prefix + key, JSON.stringify(value));
      } catch {
        // Storage full or blocked (private mode): the feature works for this page, it just doesn't persist.
      }
    },
  };
  root.classList.add("js");

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  // ---- theme: follows the system until the reader picks one ------------------------------------
  const darkQuery = matchMedia("(prefers-color-scheme: dark)");
  const systemTheme = () => (darkQuery.matches ? "dark" : "light");
  const currentTheme = () => root.dataset.theme || systemTheme();
  function applyTheme(theme) {
    if (theme === "dark" || theme === "light") root.dataset.theme = theme;
    else delete root.dataset.theme;
  }
  applyTheme(store.get("theme"));

  const tools = document.querySelector(".tools");
  if (tools) {
    const themeButton = el(
      "button",
      { type: "button", class: "tool", "aria-label": "Dark theme" },
      el("span", { class: "tool-icon", "aria-hidden": "true" }),
    );
    const sync = () => themeButton.setAttribute("aria-pressed", String(currentTheme() === "dark"));
    themeButton.addEventListener("click", () => {
      const next = currentTheme() === "dark" ? "light" : "dark";
      // Choosing what the system already shows means "follow the system" again.
      const stored = next === systemTheme() ? null : next;
      store.set("theme", stored);
      applyTheme(stored);
      sync();
    });
    darkQuery.addEventListener("change", sync);
    sync();
    const keysButton = el("button", { type: "button", class: "tool keys-button", "aria-label": "Keyboard shortcuts" }, "?");
    keysButton.addEventListener("click", showHelp);
    tools.append(themeButton, keysButton);
  }

  // ---- stories on this page ---------------------------------------------------------------------
  const items = [...document.querySelectorAll(".item, .headlines > li")];
  const linkOf = (item) => item.querySelector("a[href]");
  const pathOf = (href) => {
    const path = new URL(href, location.href).pathname;
    return path.endsWith("/index.html") ? path.slice(0, -10) : path;
  };

  // ---- read markers -----------------------------------------------------------------------------
  const READ_LIMIT = 5000;
  const readMap = () => store.get("read") || {};
  function markRead(path) {
    const read = readMap();
    delete read[path]; // re-inserted last: object key order is the age order we trim by
    read[path] = Date.now();
    const keys = Object.keys(read);
    for (const old of keys.slice(0, Math.max(0, keys.length - READ_LIMIT))) delete read[old];
    store.set("read", read);
  }
  const story = document.querySelector("article.story");
  if (story) markRead(pathOf(location.href));
  // On a story, j and k go to the older and newer story; elsewhere they move through the list.
  const keyItems = story ? [] : items;

  // ---- which stories are shown: unread-only and filter chips --------------------------------------
  let unreadOnly = Boolean(store.get("unread-only"));
  let filter = null; // {kind: "tag" | "source", value, label, href}
  const status = el("p", { class: "list-status", role: "status" });

  function matches(item) {
    if (!filter) return true;
    if (filter.kind === "tag") return (item.dataset.tags || "").split(" ").includes(filter.value);
    return item.dataset.source === filter.value;
  }

  function refresh() {
    const read = readMap();
    let shown = 0;
    let unread = 0;
    for (const item of items) {
      const link = linkOf(item);
      const isRead = Boolean(link && read[pathOf(link.href)]);
      item.classList.toggle("is-read", isRead);
      if (!isRead) unread += 1;
      const visible = matches(item) && !(unreadOnly && isRead);
      item.hidden = !visible;
      if (visible) shown += 1;
    }
    // A day whose stories are all hidden loses its heading too.
    for (const section of document.querySelectorAll(".day, .lead-list")) {
      const own = section.querySelectorAll(".item, .headlines > li");
      if (own.length) section.hidden = [...own].every((item) => item.hidden);
    }
    const parts = [];
    if (filter) parts.push(`${shown} ${shown === 1 ? "story" : "stories"} on this page: ${filter.label}.`);
    if (unreadOnly && unread === 0) parts.push("You have read every story on this page.");
    else if (unreadOnly && !filter) parts.push(`${unread} unread.`);
    status.textContent = parts.join(" ");
    if (filter) {
      status.append(" ", el("a", { href: filter.href }, `All ${filter.label} stories`));
    }
  }

  const listTools = document.querySelector(".list-tools");
  if (items.length && listTools) {
    const toggle = el("button", { type: "button", class: "chip", "aria-pressed": String(unreadOnly) }, "Unread only");
    toggle.addEventListener("click", () => {
      unreadOnly = !unreadOnly;
      store.set("unread-only", unreadOnly || null);
      toggle.setAttribute("aria-pressed", String(unreadOnly));
      refresh();
    });
    listTools.append(toggle);
    listTools.after(status);
  }

  // Filter chips are links to tag and source pages; here they become toggles that filter this page.
  const filterBox = document.querySelector(".filters");
  if (filterBox && items.length) {
    const buttons = [];
    for (const link of filterBox.querySelectorAll("a[data-filter]")) {
      const button = el("button", {
        type: "button",
        class: link.className,
        "aria-pressed": "false",
        "data-filter": link.dataset.filter,
        "data-value": link.dataset.value,
      });
      button.append(...link.childNodes);
      const spec = {
        kind: link.dataset.filter,
        value: link.dataset.value,
        label: link.dataset.label,
        href: link.getAttribute("href"),
      };
      button.addEventListener("click", () => {
        const same = filter && filter.kind === spec.kind && filter.value === spec.value;
        filter = same ? null : spec;
        for (const other of buttons) other.setAttribute("aria-pressed", String(other === button && !same));
        refresh();
      });
      buttons.push(button);
      link.replaceWith(button);
    }
    const title = filterBox.querySelector(".filters-title");
    if (title) title.textContent = "Filter stories";
  }
  if (items.length) refresh();
  // Back from an article (page restored from the back/forward cache), or another tab read something.
  addEventListener("pageshow", (event) => event.persisted && items.length && refresh());
  addEventListener("storage", (event) => event.key === prefix + "read" && items.length && refresh());

  // ---- keyboard ---------------------------------------------------------------------------------
  let selected = null;
  function select(item) {
    if (selected) selected.classList.remove("is-selected");
    selected = item;
    item.classList.add("is-selected");
    const link = linkOf(item);
    if (link && document.activeElement !== link) link.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("focusin", (event) => {
    const item = event.target.closest && event.target.closest(".item, .headlines > li");
    if (item && keyItems.includes(item) && item !== selected) {
      if (selected) selected.classList.remove("is-selected");
      selected = item;
      item.classList.add("is-selected");
    }
  });

  function move(step) {
    const visible = keyItems.filter((item) => !item.hidden && item.getClientRects().length);
    if (!visible.length) return false;
    const at = selected ? visible.indexOf(selected) : -1;
    const next = at === -1 ? (step > 0 ? 0 : visible.length - 1) : Math.min(visible.length - 1, Math.max(0, at + step));
    select(visible[next]);
    return true;
  }

  function follow(rel) {
    const link = document.querySelector(`.story-nav a[rel="${rel}"]`);
    if (!link) return false;
    location.href = link.href;
    return true;
  }

  function showHelp() {
    let dialog = document.getElementById("keys-help");
    if (!dialog) {
      const keys = [
        ["j", keyItems.length ? "Next story" : "Older story"],
        ["k", keyItems.length ? "Previous story" : "Newer story"],
        ["Enter", "Open the selected story"],
        ["/", "Search"],
        ["?", "Show these shortcuts"],
        ["Esc", "Close"],
      ];
      const list = el("dl");
      for (const [key, what] of keys) list.append(el("dt", {}, el("kbd", {}, key)), el("dd", {}, what));
      const close = el("button", { type: "button", class: "btn" }, "Close");
      dialog = el(
        "dialog",
        { id: "keys-help", class: "keys-dialog", "aria-labelledby": "keys-help-title" },
        el("h2", { id: "keys-help-title" }, "Keyboard shortcuts"),
        list,
        close,
      );
      close.addEventListener("click", () => dialog.close());
      dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
      document.body.append(dialog);
    }
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape" && target.matches("input[type=search]")) target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    let handled = false;
    if (event.key === "j") handled = keyItems.length ? move(1) : follow("prev");
    else if (event.key === "k") handled = keyItems.length ? move(-1) : follow("next");
    else if (event.key === "/") {
      const search = document.querySelector("#search-q") || document.querySelector(".site-search input");
      if (search) {
        search.focus();
        search.select();
        handled = true;
      }
    } else if (event.key === "?") {
      showHelp();
      handled = true;
    } else if (event.key === "Enter" && selected && !target.closest("a, button, summary")) {
      const link = linkOf(selected);
      if (link) {
        location.href = link.href;
        handled = true;
      }
    }
    if (handled) event.preventDefault();
  });

  // ---- offline ----------------------------------------------------------------------------------
  if ("serviceWorker" in navigator && (location.protocol === "https:" || location.hostname === "localhost" ||
      location.hostname === "127.0.0.1")) {
    const firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker
      .register(base + "sw.js", { scope: base })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        // This page arrived before the worker controlled it: hand over what it loaded, so it opens offline too.
        if (!firstVisit || !registration.active) return;
        const assets = performance
          .getEntriesByType("resource")
          .map((entry) => entry.name)
          .filter((url) => url.startsWith(location.origin + base));
        registration.active.postMessage({ type: "cache", page: location.href, assets });
      })
      .catch(() => {
        // No offline copy (e.g. the site is served without sw.js): reading online is unaffected.
      });
  }
})();
