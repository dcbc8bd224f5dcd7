#!/usr/bin/env bash
# Installs what integration/test_console.py drives the web console with: playwright-core, pinned
# by integration/console/package-lock.json, into a directory the project owns outside the clone,
# $RUNNEL_NODE_DIR (default ~/.cache/runnel-node/console), with the machine's Node.js and npm.
# The browser is Debian's chromium (scripts/install-deps.sh --test); Playwright downloads none.
# A second run with the same lock file installs nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${RUNNEL_NODE_DIR:-$HOME/.cache/runnel-node/console}"
lock="$root/integration/console/package-lock.json"
stamp="$dir/package-lock.sha256"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -d "$dir/node_modules/playwright-core" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "npm is missing: the console test needs Node.js 20 with npm" >&2
    exit 1
fi
echo "installing playwright-core (integration/console/package-lock.json) into $dir"
mkdir -p "$dir"
cp "$root/integration/console/package.json" "$lock" "$dir/"
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the test uses Debian's chromium, never a downloaded browser.
(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
