#!/usr/bin/env bash
# Install Debian's Yosys when it is missing. The project's synthesis check needs a Yosys that
# finishes its flow and prints statistics; Debian 12's 0.23 does (see docs/toolchain.md).
set -euo pipefail
if command -v yosys >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: yosys is not installed and apt-get is unavailable; install Yosys >= 0.23" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: yosys is missing; run 'apt-get install yosys' as root" >&2; exit 1
  fi
fi
echo "installing yosys from the Debian archive..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends yosys >/dev/null
yosys -V
