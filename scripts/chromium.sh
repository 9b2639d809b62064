#!/usr/bin/env bash
# Makes sure headless Chromium (Debian's `chromium` package) is installed, for the dashboard's
# browser test. Idempotent and quick when it is already there. Prints the version.
# Usage: scripts/chromium.sh   (as root, or with sudo available)
set -euo pipefail
CHROMIUM=${WEIR_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only when apt does not know the package yet.
    if ! apt-cache show chromium >/dev/null 2>&1; then
        $SUDO apt-get update -qq
    fi
    $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$CHROMIUM" --version
