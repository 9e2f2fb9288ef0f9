#!/usr/bin/env bash
# Installs Debian's redis-server for the phase-1 chat peer's tests
# (cmd/phase1chat, RELAYMESH_REDIS=1) and for cmd/phase1chat/compare.sh.
# The tests start their own redis-server on a free port; the service the
# package enables is not used. Does nothing when redis-server already runs.
set -euo pipefail

if version=$(redis-server --version 2>/dev/null); then
  echo "redis-server: already installed at $(command -v redis-server), nothing to do"
  echo "$version"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "redis-server: not installed, and installing it with apt-get needs root" >&2
  exit 1
fi

echo "redis-server: not found, installing the Debian package with apt-get"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends redis-server
if ! version=$(redis-server --version); then
  echo "redis-server: installed, but it does not run" >&2
  exit 1
fi
echo "redis-server: installed $(command -v redis-server) in $((SECONDS - start)) s"
echo "$version"
