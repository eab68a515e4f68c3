#!/usr/bin/env bash
# Installs the system packages gpubench's backends use on Debian/Ubuntu without a GPU:
#  - Mesa's lavapipe (software Vulkan) for the WebGPU backend, through scripts/setup-lavapipe.sh;
#  - OpenBLAS, which the CPU backend loads at run time when present and the CPU benchmarks compare against;
#  - Chromium, in which the report's test opens the HTML report (the test skips, saying so, without it).
# Idempotent and quiet when everything is there; never fails the caller: what cannot be installed is
# reported, and the backends that need it then report themselves unavailable with a reason.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
if [ -f "$here/setup-lavapipe.sh" ]; then
  bash "$here/setup-lavapipe.sh" || echo "setup-system: lavapipe set-up failed; the WebGPU backend will say why it is unavailable"
fi
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: installing OpenBLAS (libopenblas0-pthread)"
    (apt-get install -y -q libopenblas0-pthread >/dev/null 2>&1 ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libopenblas0-pthread >/dev/null 2>&1)) ||
      echo "setup-system: could not install OpenBLAS; the CPU backend uses its own kernels"
  else
    echo "setup-system: OpenBLAS not found (install libopenblas0 as root to compare against it); the CPU backend uses its own kernels"
  fi
fi
if [ "$(uname -s)" = Linux ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: installing Chromium (for the HTML report's browser test)"
    (apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 ||
      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1)) ||
      echo "setup-system: could not install Chromium; the report's browser test will skip"
  else
    echo "setup-system: Chromium not found (install the chromium package as root for the report's browser test)"
  fi
fi
exit 0
