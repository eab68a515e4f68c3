#!/bin/sh
# Installs Mesa's lavapipe (a software Vulkan driver) so that Dawn, through the npm package
# `webgpu`, finds a WebGPU adapter on a machine without a GPU (CI, these development machines).
#
# Why backports: Debian 12's own mesa-vulkan-drivers (22.3) is refused by Dawn; the 25.x build in
# bookworm-backports works. The suite is added to the existing deb822 source file, so no mirror
# address is written anywhere.
#
# Idempotent: does nothing when a recent enough lavapipe is already installed. Exits 0 with a
# message (and changes nothing) when not root or not on Debian 12, so it is safe to call from any
# CI step. After it, set XDG_RUNTIME_DIR to any writable folder to quiet Mesa's warnings.
set -eu

MIN_VERSION=24
SOURCES=/etc/apt/sources.list.d/debian.sources

say() { printf 'setup-lavapipe: %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  say "not root: nothing done (run as root to install lavapipe)"
  exit 0
fi
if [ ! -r /etc/os-release ] || ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
  say "not Debian 12 (bookworm): nothing done; install a Mesa >= ${MIN_VERSION} lavapipe with your package manager"
  exit 0
fi

installed=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$installed" in
  "install ok installed "*)
    version=${installed#install ok installed }
    if dpkg --compare-versions "$version" ge "$MIN_VERSION"; then
      say "lavapipe already installed (mesa-vulkan-drivers $version): nothing done"
      exit 0
    fi
    say "mesa-vulkan-drivers $version is too old for Dawn (need >= ${MIN_VERSION}); upgrading from bookworm-backports"
    ;;
  *)
    say "lavapipe missing; installing it from bookworm-backports"
    ;;
esac

if [ ! -f "$SOURCES" ]; then
  say "$SOURCES not found: cannot add bookworm-backports here; nothing done"
  exit 0
fi
if grep -Eq '^Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)' "$SOURCES"; then
  say "bookworm-backports already listed in $SOURCES"
else
  # Only the first Suites line that names plain 'bookworm' (the main archive) gets the suite.
  tmp="$SOURCES.gpubench-tmp"
  awk '!done && /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { $0 = $0 " bookworm-backports"; done = 1; break } } { print }' \
    "$SOURCES" >"$tmp"
  cat "$tmp" >"$SOURCES"
  rm -f "$tmp"
  if grep -Eq '^Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)' "$SOURCES"; then
    say "added bookworm-backports to the Suites line of $SOURCES"
  else
    say "no 'Suites: bookworm' line in $SOURCES: cannot add bookworm-backports; nothing installed"
    exit 0
  fi
fi

say "apt-get update"
apt-get update -qq
say "apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1
version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
say "installed mesa-vulkan-drivers $version (lavapipe); set XDG_RUNTIME_DIR to a writable folder before running WebGPU tests"
