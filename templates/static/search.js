/* The search page: queries the static index the build writes to /search/ (broadsheet/search_index.py)
   in the browser. The form is a plain GET form, so ?q=...&tag=...&source=... links and the back button
   work; only the shards a query needs are downloaded (each term's first two characters name its shard). */
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
  const MAX_TERM = 32;
  // [form field, label, meta.json list, document column]
  const FILTERS = [
    ["tag", "Topic", "tags", 5],
    ["source", "Source", "sources", 4],
    ["author", "Author", "authors", 6],
  ];
  const cache = new Map();
  let results = [];
  let shown = 0;
  let generation = 0;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function fetchJson(name) {
    if (!cache.has(name)) {
      const request = fetch(`${base}search/${name}`).then((response) => {
        if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
        return response.json();
      });
      request.catch(() => cache.delete(name)); // a failed shard is fetched again next time
      cache.set(name, request);
    }
    return cache.get(name);
  }

  // The same rules as search_index.normalise(): lower case, accents removed, runs of letters/digits/_,
  // one-character words dropped unless they are digits, at most MAX_TERM characters.
  const WORD = /[\p{L}\p{N}_]+/gu;
  function normalise(text) {
    // Lower case again after NFKD: compatibility forms such as "𝐀" decompose to capitals.
    const folded = text.toLowerCase().normalize("NFKD").toLowerCase().replace(/\p{M}/gu, "");
    const terms = [];
    for (const word of folded.match(WORD) || []) {
      const chars = Array.from(word);
      if (chars.length > 1 || /^\p{N}$/u.test(word)) terms.push(chars.slice(0, MAX_TERM).join(""));
    }
    return terms;
  }
  const hex = (text) => Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  const shardOf = (term) => hex(Array.from(term).slice(0, 2).join(""));

  async function loadDocs(meta, numbers) {
    const chunks = [...new Set(numbers.map((n) => Math.floor(n / meta.chunk)))];
    const loaded = await Promise.all(chunks.map((c) => fetchJson(`docs-${c}.json`)));
    const byChunk = new Map(chunks.map((c, i) => [c, loaded[i]]));
    return numbers.map((n) => ({ n, row: byChunk.get(Math.floor(n / meta.chunk))[n % meta.chunk] }));
  }

  // Document numbers holding `term`; the last word of a query also matches as a prefix (search as you type).
  async function postings(meta, term, prefix) {
    const shard = shardOf(term);
    if (!meta.shards.includes(shard)) return new Set();
    const table = await fetchJson(`t-${shard}.json`);
    const found = new Set(table[term] || []);
    if (prefix) {
      for (const [other, ids] of Object.entries(table)) if (other.startsWith(term)) ids.forEach((id) => found.add(id));
    }
    return found;
  }

  async function query(meta, text, filters, newest) {
    const terms = [...new Set(normalise(text))];
    let ids = null;
    for (const [i, term] of terms.entries()) {
      const found = await postings(meta, term, i === terms.length - 1);
      ids = ids ? new Set([...ids].filter((id) => found.has(id))) : found;
      if (!ids.size) break;
    }
    const numbers = ids ? [...ids] : [...Array(meta.docs).keys()];
    let docs = await loadDocs(meta, numbers);
    for (const [key, , , column] of FILTERS) {
      const want = filters[key];
      if (!want) continue;
      docs = docs.filter(({ row }) => (Array.isArray(row[column]) ? row[column].includes(want) : row[column] === want));
    }
    // Best match: more query words in the headline first; then, as everywhere on the site, newest first.
    const inTitle = (row) => {
      const title = new Set(normalise(row[1]));
      return terms.filter((t, i) => title.has(t) || (i === terms.length - 1 && [...title].some((w) => w.startsWith(t)))).length;
    };
    const scored = docs.map((doc) => ({ ...doc, score: newest ? 0 : inTitle(doc.row) }));
    scored.sort((a, b) => b.score - a.score || (a.row[3] < b.row[3] ? 1 : a.row[3] > b.row[3] ? -1 : b.n - a.n));
    return { terms, docs: scored };
  }

  // Text with the words that match the query wrapped in <mark>; built as nodes, never parsed as HTML.
  function highlighted(text, terms) {
    const out = [];
    let last = 0;
    for (const match of text.matchAll(/[\p{L}\p{N}_\p{M}]+/gu)) {
      const [word] = normalise(match[0]);
      const hit = word && terms.some((t, i) => word === t || (i === terms.length - 1 && word.startsWith(t)));
      if (!hit) continue;
      out.push(document.createTextNode(text.slice(last, match.index)));
      out.push(el("mark", {}, match[0]));
      last = match.index + match[0].length;
    }
    out.push(document.createTextNode(text.slice(last)));
    return out;
  }

  const safeHref = (url) => (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "#");

  function resultItem(row, terms) {
    const [url, title, label, iso, source, , , summary] = row;
    const meta = el("p", { class: "meta" });
    if (source) meta.append(el("span", { class: "source" }, source));
    meta.append(el("time", { datetime: iso }, label));
    return el(
      "li",
      { class: "item" },
      el(
        "article",
        {},
        el("h2", { class: "item-title" }, el("a", { href: safeHref(url) }, ...highlighted(title, terms))),
        meta,
        el("p", { class: "summary excerpt" }, ...highlighted(summary || "", terms)),
      ),
    );
  }

  function showMore(terms) {
    list.append(...results.slice(shown, shown + PAGE).map((doc) => resultItem(doc.row, terms)));
    shown = Math.min(results.length, shown + PAGE);
    more.hidden = shown >= results.length;
  }
  let currentTerms = [];
  more.addEventListener("click", () => showMore(currentTerms));

  function field(key) {
    const control = form.elements[key];
    // Before the filter menus exist (or if they could not load), the URL's values still apply.
    return control ? control.value : initial.get(key) || "";
  }

  function describe(count, text, filters) {
    const what = [];
    if (text) what.push(`“${text}”`);
    for (const [key, label] of FILTERS) if (filters[key]) what.push(`${label.toLowerCase()} ${filters[key]}`);
    return `${count} ${count === 1 ? "story" : "stories"} for ${what.join(", ")}`;
  }

  async function run() {
    const text = input.value.trim();
    const filters = {};
    for (const [key] of FILTERS) if (field(key)) filters[key] = field(key);
    const newest = field("sort") === "newest";
    const mine = ++generation;
    const params = new URLSearchParams();
    if (text) params.set("q", text);
    for (const [key, value] of Object.entries(filters)) params.set(key, value);
    if (newest) params.set("sort", "newest");
    history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
    if (!normalise(text).length && !Object.keys(filters).length) {
      list.replaceChildren();
      more.hidden = true;
      status.textContent = text ? "Type a longer word to search." : "";
      return;
    }
    try {
      const meta = await fetchJson("meta.json");
      const found = await query(meta, text, filters, newest);
      if (mine !== generation) return;
      results = found.docs;
      currentTerms = found.terms;
      shown = 0;
      list.replaceChildren();
      status.textContent = describe(results.length, text, filters);
      showMore(found.terms);
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = navigator.onLine
        ? "Search could not be loaded. Browse the archive instead."
        : "Search is not available offline until you have searched once online.";
    }
  }

  async function addFilters() {
    const meta = await fetchJson("meta.json");
    const row = document.getElementById("search-options");
    for (const [key, label, list] of FILTERS) {
      const values = meta[list] || [];
      if (!values.length) continue;
      const select = el("select", { name: key, id: `search-${key}` }, el("option", { value: "" }, `Any ${label.toLowerCase()}`));
      for (const value of values) select.append(el("option", { value }, value));
      select.value = initial.get(key) || "";
      select.addEventListener("change", run);
      row.append(el("div", { class: "field" }, el("label", { for: `search-${key}` }, label), select));
    }
    const sort = el(
      "select",
      { name: "sort", id: "search-sort" },
      el("option", { value: "" }, "Best match"),
      el("option", { value: "newest" }, "Newest first"),
    );
    sort.value = initial.get("sort") === "newest" ? "newest" : "";
    sort.addEventListener("change", run);
    row.append(el("div", { class: "field" }, el("label", { for: "search-sort" }, "Order"), sort));
  }

  let timer = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });

  const initial = new URLSearchParams(location.search);
  input.value = initial.get("q") || "";
  const header = document.querySelector(".site-search input");
  if (header) header.value = input.value;
  if (!initial.size) input.focus();
  addFilters()
    .catch(() => {})
    .then(run);
})();
