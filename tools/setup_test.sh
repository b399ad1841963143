#!/usr/bin/env bash
# The setup script is idempotent: on a machine that built this test, every
# package is present, so it must only check and say so, without root.
set -euo pipefail
script="${1:?usage: setup_test.sh path/to/setup.sh}"
out=$(bash "$script")
echo "$out"
if [[ "$out" != "lockstep setup: all "*" packages present" ]]; then
  echo "FAIL: expected the no-op message from $script" >&2
  exit 1
fi
