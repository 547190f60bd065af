#!/usr/bin/env bash
# The explorer page in a real browser: renders DIR/index.html (default out/demo, written by `make demo`) with
# headless Chromium from file://, and fails when a script error was written into the page, when the page never
# became ready, or when a screenshot shows a blank picture where the explanation, the attention matrix or the
# attention row should be. Keeps the screenshot as DIR/explorer_screenshot.png. Takes a few seconds.
# Usage: scripts/check_explorer.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-out/demo}
[[ -f $dir/index.html && -f $dir/explorer_data.js ]] || { echo "check_explorer: no explorer in $dir (run make demo)" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "check_explorer: chromium is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
regions=./build/tests/png_regions
[[ -x $regions ]] || { echo "check_explorer: $regions is missing (run make)" >&2; exit 2; }
page="file://$(realpath "$dir/index.html")"
# --no-sandbox: CI runs as root; the page's own timers get up to 20 s of virtual time
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=20000 --window-size=1200,700)
dom=$(mktemp)
trap 'rm -f "$dom"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

timeout 120 "$browser" "${flags[@]}" --dump-dom "$page" >"$dom" 2>/dev/null || fail "chromium could not render $page"
grep -q 'data-ready="1"' "$dom" || fail "the page never became ready (data-ready missing)"
errors=$(tr '\n' ' ' <"$dom" | sed -n 's/.*<pre id="errors">\([^<]*\)<\/pre>.*/\1/p')
[[ -z ${errors// /} ]] || fail "script errors in the page: $errors"
drawn=$(grep -o 'data-drawn="1"' "$dom" | wc -l)
((drawn >= 3)) || fail "only $drawn pictures were drawn"

shot=$dir/explorer_screenshot.png
timeout 120 "$browser" "${flags[@]}" --screenshot="$shot" "$page" >/dev/null 2>&1 || fail "no screenshot"
mapfile -t rects < <(grep -o 'id="[a-z]*"[^>]*data-rect="[^"]*"' "$dom" | sed -E 's/id="([a-z]*)".*data-rect="([^"]*)"/\1 \2/')
((${#rects[@]} == 3)) || fail "expected 3 picture positions in the page, found ${#rects[@]}"
for r in "${rects[@]}"; do
  read -r id rect <<<"$r"
  sd=$($regions "$shot" "$rect") || { fail "cannot read $id's region $rect of $shot"; continue; }
  # a blank or uniform picture has a spread of 0
  if awk "BEGIN { exit !($sd > 1) }"; then echo "ok   $id at $rect: grey-level spread $sd"; else fail "$id at $rect is blank (spread $sd)"; fi
done
echo "check_explorer: $failures failure(s); screenshot $shot"
exit $((failures > 0))
