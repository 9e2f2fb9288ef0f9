#!/usr/bin/env bash
# Installs ffmpeg (and ffprobe, same package) for the tests that drive real
# streamers and players (RELAYMESH_E2E=1), and for regenerating the demo
# stream (node/devmesh/demo/generate.sh).
#
# CI runs as root on a fresh Debian 12, where the distribution's ffmpeg
# package (5.1) has everything the tests use: libx264, the native AAC
# encoder, the HLS and MPEG-TS muxers, HTTP PUT output. Does nothing when
# ffmpeg already runs. Runs from any directory; writes nothing into the repo.
set -euo pipefail

if version=$(ffmpeg -version 2>/dev/null); then
  echo "ffmpeg: already installed at $(command -v ffmpeg), nothing to do"
  echo "${version%%$'\n'*}"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ffmpeg: not installed, and installing it with apt-get needs root" >&2
  exit 1
fi

echo "ffmpeg: not found, installing the Debian package with apt-get"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ffmpeg
if ! version=$(ffmpeg -version); then
  echo "ffmpeg: installed, but ffmpeg does not run" >&2
  exit 1
fi
if ! command -v ffprobe >/dev/null; then
  echo "ffmpeg: installed, but ffprobe is missing" >&2
  exit 1
fi
echo "ffmpeg: installed $(command -v ffmpeg) in $((SECONDS - start)) s"
echo "${version%%$'\n'*}"
