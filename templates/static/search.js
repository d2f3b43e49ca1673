/* The search page: queries the Pagefind index built with the site (/pagefind/), in the browser.
   The form is a plain GET form, so ?q=...&tag=...&source=... links work and the back button does too. */
(() => {
  "use strict";
  const script = document.currentScript;
  const base = (script && script.dataset.base) || "/";
  const form = document.getElementById("search-form");
  const input = document.getElementById("search-q");
  const status = document.getElementById("search-status");
  const list = document.getElementById("search-results");
  const more = document.getElementById("search-more");
  if (!form || !input || !status || !list || !more) return;

  const PAGE = 10;
  const FILTERS = [
    ["tag", "Topic"],
    ["source", "Source"],
    ["author", "Author"],
  ];
  let pagefind = null;
  let results = [];
  let shown = 0;
  let generation = 0;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  async function load() {
    if (!pagefind) {
      pagefind = await import(`${base}pagefind/pagefind.js`);
      await pagefind.options({ baseUrl: base, excerptLength: 32 });
      pagefind.init();
    }
    return pagefind;
  }

  // Pagefind's excerpt is HTML with <mark> around matches. Only text and <mark> are kept, whatever the
  // article text contained: a parsed, inert document is read and rebuilt, never inserted as HTML.
  function excerptNodes(html) {
    const doc = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
    const out = [];
    for (const node of doc.body.firstChild.childNodes) {
      if (node.nodeName === "MARK") out.push(el("mark", {}, node.textContent));
      else out.push(document.createTextNode(node.textContent));
    }
    return out;
  }

  const safeHref = (url) => (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "#");

  function resultItem(data) {
    const meta = data.meta || {};
    const parts = [];
    if (meta.source) parts.push(el("span", { class: "source" }, meta.source));
    if (meta.date) parts.push(el("span", {}, meta.date));
    return el(
      "li",
      { class: "item" },
      el(
        "article",
        {},
        el("h2", { class: "item-title" }, el("a", { href: safeHref(data.url) }, meta.title || data.url)),
        el("p", { class: "meta" }, ...parts),
        el("p", { class: "summary excerpt" }, ...excerptNodes(data.excerpt || "")),
      ),
    );
  }

  async function showMore() {
    const mine = generation;
    const batch = await Promise.all(results.slice(shown, shown + PAGE).map((r) => r.data()));
    if (mine !== generation) return;
    list.append(...batch.map(resultItem));
    shown += batch.length;
    more.hidden = shown >= results.length;
  }

  function selected() {
    const filters = {};
    for (const [key] of FILTERS) {
      const select = form.elements[key];
      // Before the filter menus exist (or if they can't load), the URL's filters still apply.
      const value = select ? select.value : initial.get(key);
      if (value) filters[key] = value;
    }
    return filters;
  }

  function describe(count, query, filters) {
    const what = [];
    if (query) what.push(`“${query}”`);
    for (const [key, label] of FILTERS) if (filters[key]) what.push(`${label.toLowerCase()} ${filters[key]}`);
    return `${count} ${count === 1 ? "story" : "stories"} for ${what.join(", ")}`;
  }

  async function run() {
    const query = input.value.trim();
    const filters = selected();
    const order = form.elements.sort ? form.elements.sort.value : initial.get("sort");
    const sort = order === "newest" ? { date: "desc" } : undefined;
    const mine = ++generation;
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    for (const [key, value] of Object.entries(filters)) params.set(key, value);
    if (sort) params.set("sort", "newest");
    history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
    if (!query && !Object.keys(filters).length) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = "";
      return;
    }
    status.textContent = "Searching…";
    try {
      const pf = await load();
      const search = await pf.search(query || null, { filters, sort });
      if (mine !== generation) return;
      results = search.results;
      shown = 0;
      list.replaceChildren();
      status.textContent = describe(results.length, query, filters);
      await showMore();
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = navigator.onLine
        ? "Search could not be loaded. Browse the archive instead."
        : "Search is not available offline until you have searched once online.";
    }
  }

  async function addFilters(params) {
    const pf = await load();
    const available = await pf.filters();
    const row = document.getElementById("search-options");
    for (const [key, label] of FILTERS) {
      const values = Object.keys(available[key] || {}).sort((a, b) => a.localeCompare(b));
      if (!values.length) continue;
      const select = el("select", { name: key, id: `search-${key}` }, el("option", { value: "" }, `Any ${label.toLowerCase()}`));
      for (const value of values) select.append(el("option", { value }, `${value} (${available[key][value]})`));
      select.value = params.get(key) || "";
      select.addEventListener("change", run);
      row.append(el("div", { class: "field" }, el("label", { for: `search-${key}` }, label), select));
    }
    const sort = el(
      "select",
      { name: "sort", id: "search-sort" },
      el("option", { value: "" }, "Best match"),
      el("option", { value: "newest" }, "Newest first"),
    );
    sort.value = params.get("sort") === "newest" ? "newest" : "";
    sort.addEventListener("change", run);
    row.append(el("div", { class: "field" }, el("label", { for: "search-sort" }, "Order"), sort));
  }

  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 180);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  more.addEventListener("click", showMore);

  const params = new URLSearchParams(location.search);
  const initial = params;
  input.value = params.get("q") || "";
  const header = document.querySelector(".site-search input");
  if (header) header.value = input.value;
  if (!params.size) input.focus();
  addFilters(params)
    .catch(() => {})
    .then(run);
})();
