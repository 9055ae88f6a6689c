#!/usr/bin/env bash
# Installs the host tools Nexus Imager's tests use (Debian 12+/Ubuntu 22.04+). Run as root (or with sudo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null || ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "Nexus Imager needs Node.js >= 20.19 (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "Install it from your distribution (Debian 13: apt-get install nodejs npm) or from nodejs.org, then run this again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# one package per line in apt-packages.txt; comments and blank lines ignored
grep -v '^\s*\(#\|$\)' "$here/apt-packages.txt" | xargs apt-get install -y -qq --no-install-recommends
