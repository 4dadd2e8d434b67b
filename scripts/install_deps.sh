#!/usr/bin/env bash
# Installs what the integration tests need, and nothing else:
#   - redis-server (Faktory starts its own Redis from PATH), via apt-get
#   - the Faktory server pinned in scripts/faktory/go.mod, built with Go into
#     $FAKTORY_INSTALL_DIR (default: <repo>/.cache/bin)
# Idempotent and non-interactive; safe to run again. Set FAKTORY_BIN to an
# existing faktory binary to skip the build.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$repo/scripts/faktory"
bin_dir="${FAKTORY_INSTALL_DIR:-$repo/.cache/bin}"
log() { printf 'install_deps: %s\n' "$*"; }

# --- redis-server -----------------------------------------------------------
if command -v redis-server >/dev/null 2>&1; then
  log "redis-server found: $(command -v redis-server)"
else
  log "redis-server not found; installing with apt-get"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
      log "need root (or sudo) to run apt-get"
      exit 1
    }
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q </dev/null
  "${sudo[@]}" apt-get install -y -q --no-install-recommends redis-server </dev/null
  command -v redis-server >/dev/null 2>&1 || {
    log "redis-server is still not on PATH after apt-get install"
    exit 1
  }
  log "installed $(redis-server --version)"
fi

# --- faktory ------------------------------------------------------------------
want="$(awk '$1 == "require" && $2 == "github.com/contribsys/faktory" { print $3 }' "$module_dir/go.mod")"
want="${want#v}"
target="$bin_dir/faktory"

if [[ -n "${FAKTORY_BIN:-}" && -x "${FAKTORY_BIN}" ]]; then
  log "faktory: using FAKTORY_BIN=$FAKTORY_BIN"
  exit 0
fi
# `faktory -v` prints "Faktory X.Y.Z"; rebuild when the pin changed.
if [[ -x "$target" ]] && "$target" -v 2>&1 | grep -qF "Faktory $want"; then
  log "faktory $want found: $target"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || {
  log "go not found; install Go >= 1.25 or set FAKTORY_BIN"
  exit 1
}

log "building faktory $want into $bin_dir ($(go version))"
mkdir -p "$bin_dir"
# Build into a temp dir beside the target and rename, so a concurrent reader
# never sees a half-written binary. `go install pkg@version` is avoided on
# purpose: inside this module the version comes from go.mod/go.sum instead.
tmp="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$module_dir" && GOBIN="$tmp" GOFLAGS=-mod=readonly go install github.com/contribsys/faktory/cmd/faktory)
mv -f "$tmp/faktory" "$target"
log "installed $("$target" -v 2>&1 | head -n1): $target"
