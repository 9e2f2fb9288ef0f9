#!/usr/bin/env bash
# Installs the real MinIO server binary that the origin tests run against
# when RELAYMESH_MINIO=1 (origin/minio_test.go looks for `minio` on PATH,
# then at the path below).
#
# The binary lives outside the repo, in $HOME/.cache/relaymesh-tools/bin, so
# CI runs on the same machine reuse it: building MinIO from source with
# `go install` takes several minutes on a 2-core machine. MinIO ships no
# binary through the package registries reachable here, hence the build.
#
# Runs from any directory; writes nothing into the repo. Needs go on PATH.
set -euo pipefail

readonly bin_dir=$HOME/.cache/relaymesh-tools/bin
readonly minio=$bin_dir/minio
readonly module=github.com/minio/minio@latest

if [ -x "$minio" ] && version=$("$minio" --version 2>/dev/null); then
  echo "minio: already installed at $minio, nothing to do"
  echo "${version%%$'\n'*}"
  exit 0
fi

mkdir -p "$bin_dir"
echo "minio: installing $module into $bin_dir (go install, takes several minutes)"
start=$SECONDS
# Outside any module, so the repo's go.mod plays no part in the build.
(cd "$bin_dir" && GOBIN=$bin_dir GOFLAGS=-buildvcs=false go install "$module")
if ! version=$("$minio" --version); then
  echo "minio: installed $minio does not run" >&2
  exit 1
fi
echo "minio: installed $minio in $((SECONDS - start)) s"
echo "${version%%$'\n'*}"
