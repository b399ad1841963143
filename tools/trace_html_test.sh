#!/usr/bin/env bash
# Renders `lockstep_trace export --format=html` in headless Chromium and
# checks what the page shows (the DOM after the page's script ran, and a
# screenshot), not only that a file was written.
#   trace_html_test.sh path/to/lockstep_trace TRACES_DIR
# Needs Debian's chromium: `bash tools/setup.sh --with-chromium`.
set -euo pipefail
tool="${1:?usage: trace_html_test.sh path/to/lockstep_trace TRACES_DIR}"
traces="${2:?usage: trace_html_test.sh path/to/lockstep_trace TRACES_DIR}"
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
  echo "FAIL: chromium not found; run: bash tools/setup.sh --with-chromium" >&2
  exit 1
fi
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/html_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home"
mkdir -p "$HOME"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

browse() {  # browse PAGE MODE... : runs headless Chromium on file://PAGE
  local page="$1"
  shift
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$(mktemp -d "$work/profile.XXXXXX")" \
    "$@" "file://$page" 2>"$work/chromium.log"
}

count() { grep -o -- "$1" "$2" | wc -l; }

# expect NAME THREADS EVENTS WAKE_ARROWS MESSAGE_ARROWS
expect() {
  local name="$1" threads="$2" events="$3" wakes="$4" messages="$5"
  local page="$work/$name.html" dom="$work/$name.dom.html"
  "$tool" export --format=html "$traces/$name.lockstep" -o "$page"
  if ! browse "$page" --dump-dom >"$dom"; then
    fail "$name: chromium --dump-dom failed"; cat "$work/chromium.log" >&2; return
  fi
  grep -q "<div id=\"lockstep-timeline\" data-threads=\"$threads\" data-events=\"$events\"" "$dom" \
    || fail "$name: no timeline marker with $threads threads and $events events"
  [[ $(count 'class="lane" data-thread="[0-9]*"' "$dom") == "$threads" ]] \
    || fail "$name: expected $threads lanes"
  for ((t = 0; t < threads; t++)); do
    grep -q "class=\"lane\" data-thread=\"$t\"" "$dom" || fail "$name: no lane for thread $t"
  done
  [[ $(count '<g class="event' "$dom") -ge "$events" ]] || fail "$name: fewer than $events events"
  [[ $(count 'class="event failure' "$dom") == 1 ]] || fail "$name: expected one failure element"
  [[ $(count '<path class="arrow wake"' "$dom") == "$wakes" ]] \
    || fail "$name: expected $wakes wake-up arrows"
  [[ $(count '<path class="arrow message"' "$dom") == "$messages" ]] \
    || fail "$name: expected $messages message arrows"
  grep -q "Golden.$name" "$dom" || fail "$name: no test name in the header"
  echo "$name: DOM ok ($threads lanes, $events events, $wakes+$messages arrows)"
}

expect handoff 3 18 1 2
expect deadlock 3 4 0 0
expect lost_update 3 11 0 0

# The page draws something: a screenshot that is a real, non-trivial PNG.
png="$work/handoff.png"
if browse "$work/handoff.html" --window-size=1600,700 --screenshot="$png" >/dev/null \
    && [[ -s "$png" ]]; then
  size=$(stat -c %s "$png")
  [[ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" == "89504e470d0a1a0a" ]] \
    || fail "screenshot is not a PNG"
  [[ "$size" -gt 20000 ]] || fail "screenshot is only $size bytes (blank page?)"
  echo "screenshot: $size bytes"
else
  fail "chromium --screenshot wrote nothing"; cat "$work/chromium.log" >&2
fi

if ((failures > 0)); then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "PASS"
