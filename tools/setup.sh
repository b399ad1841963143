#!/usr/bin/env bash
# Installs the Debian packages Lockstep builds against, and nothing else.
#
# Idempotent: when everything is present it only checks (well under a second)
# and exits 0. When something is missing it needs root (it runs apt-get) and
# says exactly what it would install otherwise.
#
#   bash tools/setup.sh                  the build and test dependencies
#   bash tools/setup.sh --with-chromium  also Debian's chromium (large), which
#                                        only //tools:lockstep_trace_html_test
#                                        needs (it renders the HTML timeline)
set -euo pipefail

WITH_CHROMIUM=0
for arg in "$@"; do
  case "$arg" in
    --with-chromium) WITH_CHROMIUM=1 ;;
    *) echo "usage: setup.sh [--with-chromium]" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  g++ make cmake pkg-config unzip
  bazel-bootstrap
  googletest libgtest-dev libgmock-dev
  libabsl-dev
  libprotobuf-dev protobuf-compiler
  libboost-context-dev
  libbenchmark-dev
  relacy-dev
  libdw-dev
  libconcurrentqueue-dev
)
if ((WITH_CHROMIUM)); then
  PACKAGES+=(chromium)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "lockstep setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "lockstep setup: missing packages: ${missing[*]}"
if [[ "$(id -u)" != 0 ]]; then
  echo "lockstep setup: run as root (or with sudo) to install them:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "lockstep setup: installed ${missing[*]}"
