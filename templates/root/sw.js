/* Broadsheet service worker: keeps the pages a reader opened, and the latest front page, so the site
   opens without a network. Published at the site root because a worker controls only the pages under
   the folder it is served from; that folder (the site's base path) is its scope. */
"use strict";

const scope = new URL(self.registration.scope);
const FRONT = scope.href;
const PAGES = `broadsheet-pages-v1:${scope.pathname}`;
const ASSETS = `broadsheet-assets-v1:${scope.pathname}`;
const MAX_PAGES = 300;
const MAX_ASSETS = 600;
const FRONT_MAX_AGE = 5 * 60 * 1000;
let frontFetchedAt = 0;

const inScope = (url) => url.origin === scope.origin && url.pathname.startsWith(scope.pathname);

// One key per page: /x/, /x/index.html and /x/?q=... are the same document here.
function pageKey(href) {
  const url = new URL(href);
  url.search = "";
  url.hash = "";
  if (url.pathname.endsWith("/index.html")) url.pathname = url.pathname.slice(0, -10);
  return url.href;
}

// Content-hashed assets (static/name.<hash>.ext) never change under the same name.
const immutable = (url) => /\.[0-9a-f]{8,}\.\w+$/.test(url.pathname);

async function trim(cache, max) {
  const keys = await cache.keys();
  for (const old of keys.slice(0, Math.max(0, keys.length - max))) await cache.delete(old);
}

async function savePage(href, response) {
  const cache = await caches.open(PAGES);
  const key = pageKey(href);
  await cache.delete(key); // re-added last, so trimming drops the pages read longest ago
  await cache.put(key, response);
  await trim(cache, MAX_PAGES);
}

async function saveAsset(request, response) {
  const cache = await caches.open(ASSETS);
  await cache.put(request, response);
  await trim(cache, MAX_ASSETS);
}

const usable = (response) => response && response.ok && response.type === "basic";

async function refreshFront() {
  if (Date.now() - frontFetchedAt < FRONT_MAX_AGE) return;
  frontFetchedAt = Date.now();
  const response = await fetch(FRONT, { cache: "no-cache" });
  if (!usable(response)) return;
  const html = await response.clone().text();
  await savePage(FRONT, response);
  await cacheAssetsOf(html, FRONT);
}

// Stylesheets, scripts and icons the front page needs, so the cached copy looks right offline.
async function cacheAssetsOf(html, pageUrl) {
  const urls = new Set();
  for (const match of html.matchAll(/<(?:link|script)\b[^>]*?\b(?:href|src)="([^"]+)"/g)) {
    const url = new URL(match[1].replace(/&amp;/g, "&"), pageUrl);
    if (inScope(url) && !/\.xml$/.test(url.pathname)) urls.add(url.href);
  }
  await cacheAssets([...urls]);
}

async function cacheAssets(urls) {
  const cache = await caches.open(ASSETS);
  await Promise.all(
    urls.map(async (href) => {
      try {
        if (await cache.match(href)) return;
        const response = await fetch(href);
        if (usable(response)) await cache.put(href, response);
      } catch {
        // Offline or gone: the next visit tries again.
      }
    }),
  );
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    refreshFront()
      .catch(() => {})
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("broadsheet-") && name.endsWith(`:${scope.pathname}`) && name !== PAGES && name !== ASSETS) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

// A page that loaded before this worker took control sends what it loaded.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "cache" || typeof data.page !== "string") return;
  const page = new URL(data.page);
  if (!inScope(page)) return;
  const assets = (Array.isArray(data.assets) ? data.assets : []).filter((href) => {
    try {
      return inScope(new URL(href));
    } catch {
      return false;
    }
  });
  event.waitUntil(
    (async () => {
      try {
        const response = await fetch(page.href);
        if (usable(response)) await savePage(page.href, response);
      } catch {
        // Offline already: nothing to save.
      }
      await cacheAssets(assets);
    })(),
  );
});

async function fromCache(cacheName, key) {
  const cache = await caches.open(cacheName);
  return cache.match(key);
}

async function navigate(event) {
  const { request } = event;
  try {
    const response = await fetch(request);
    if (usable(response)) {
      event.waitUntil(savePage(request.url, response.clone()));
      event.waitUntil(refreshFront().catch(() => {}));
    }
    return response;
  } catch (error) {
    const cached = await fromCache(PAGES, pageKey(request.url));
    return cached || offlinePage(request.url);
  }
}

async function asset(event) {
  const { request } = event;
  const url = new URL(request.url);
  if (immutable(url)) {
    const cached = await fromCache(ASSETS, request);
    if (cached) return cached;
  }
  try {
    const response = await fetch(request);
    if (usable(response)) event.waitUntil(saveAsset(request, response.clone()));
    return response;
  } catch (error) {
    const cached = (await fromCache(ASSETS, request)) || (await caches.match(request, { ignoreSearch: true }));
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!inScope(url) || url.pathname === `${scope.pathname}sw.js`) return;
  // Event streams (the preview server's live reload) never end: not for a cache.
  if ((request.headers.get("accept") || "").includes("text/event-stream") || url.pathname.includes("/__")) return;
  event.respondWith(request.mode === "navigate" ? navigate(event) : asset(event));
});

const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// Shown for a page that was never saved: say so, and list what can be read offline.
async function offlinePage(href) {
  const cache = await caches.open(PAGES);
  const saved = [];
  for (const request of (await cache.keys()).reverse()) {
    if (request.url === FRONT) continue;
    const text = await (await cache.match(request)).text();
    const title = (text.match(/<h1[^>]*>([^<]*)<\/h1>/) || text.match(/<title>([^<]*)<\/title>/) || [])[1];
    if (title) saved.push(`<li><a href="${escapeHtml(request.url)}">${title}</a></li>`);
    if (saved.length >= 50) break;
  }
  const body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline</title>
<style>body{font:1.1rem/1.6 Georgia,serif;max-width:38rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;background:#fdfcf8}
a{color:#0b4f8a}@media (prefers-color-scheme:dark){body{color:#ecebe6;background:#151515}a{color:#8cc4ff}}</style></head>
<body><main><h1>You are offline</h1><p>${escapeHtml(new URL(href).pathname)} was not saved for offline reading.
Open the <a href="${escapeHtml(FRONT)}">front page</a>${saved.length ? " or a story you read before:" : "."}</p>
${saved.length ? `<ul>${saved.join("")}</ul>` : ""}</main></body></html>`;
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
