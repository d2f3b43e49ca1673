#!/bin/sh
# Lighthouse (npm lighthouse@12, Debian's Chromium) on the built sample site: front page, an article and
# the search page, served by a plain static server on 127.0.0.1. A benchmark, not a test: run on demand.
#
#   benchmarks/lighthouse.sh [--mobile|--desktop]     (default: Lighthouse's mobile profile, slow 4G + 4x CPU)
#
# Prints one line per page with the accessibility, best-practices, SEO and performance scores (0-100),
# and keeps the full JSON reports in $OUT (default: test-artifacts/lighthouse/).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
PRESET=""
[ "${1:-}" = "--desktop" ] && PRESET="--preset=desktop"
OUT=${OUT:-$ROOT/test-artifacts/lighthouse}
WORK=$(mktemp -d)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$OUT"

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" -m broadsheet build --content "$ROOT/content" --templates "$ROOT/templates" --output "$WORK/site" \
    --base-url "http://127.0.0.1:$PORT/" >/dev/null
"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/site" >/dev/null 2>&1 &
SERVER=$!
sleep 1

ARTICLE=$(cd "$WORK/site" && ls -d 2024/*/*/*/ | head -n 1)
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"

printf '%-32s %6s %6s %6s %6s\n' page a11y best seo perf
for page in "" "$ARTICLE" "search/?q=harbour"; do
    name=$(printf '%s' "${page:-front}" | tr '/?=' '---' | sed 's/-*$//')
    npx --yes lighthouse@12 "http://127.0.0.1:$PORT/$page" $PRESET --quiet --chrome-flags="$FLAGS" \
        --only-categories=accessibility,best-practices,seo,performance \
        --output=json --output-path="$OUT/$name.json" >/dev/null 2>&1 || { echo "lighthouse failed on /$page" >&2; exit 1; }
    "$PY" - "$OUT/$name.json" "/$page" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
cats = report["categories"]
scores = [round(cats[k]["score"] * 100) for k in ("accessibility", "best-practices", "seo", "performance")]
print(f"{sys.argv[2]:32} " + " ".join(f"{s:6d}" for s in scores))
audits = report["audits"]
for key in ("first-contentful-paint", "largest-contentful-paint", "cumulative-layout-shift", "total-blocking-time"):
    print(f"    {audits[key]['title']}: {audits[key]['displayValue']}")
for audit in audits.values():
    if audit.get("score") is not None and audit["score"] < 1 and audit.get("scoreDisplayMode") in ("binary", "numeric"):
        if audit["id"] not in ("first-contentful-paint", "largest-contentful-paint", "speed-index", "interactive"):
            print(f"    below full marks: {audit['id']} ({audit['score']})")
EOF
done
