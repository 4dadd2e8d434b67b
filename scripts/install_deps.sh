#!/usr/bin/env bash
# Installs what the integration tests need, and nothing else:
#   - redis-server (Faktory starts its own Redis from PATH), via apt-get
#   - the Faktory servers pinned by Go modules, built with Go into
#     $FAKTORY_INSTALL_DIR (default: <repo>/.cache/bin):
#       scripts/faktory/        -> faktory          the default test server (1.10.0)
#       scripts/faktory-X.Y.Z/  -> faktory-X.Y.Z    compatibility passes (1.9.4)
# Idempotent and non-interactive; safe to run again; a binary is rebuilt when
# its pin changes. Set FAKTORY_BIN to an existing faktory binary to skip
# building the default one (the compatibility builds still run).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
# The version a module pins, e.g. 1.10.0.
pinned() { awk '$1 == "require" && $2 == "github.com/contribsys/faktory" { sub(/^v/, "", $3); print $3 }' "$1/go.mod"; }

have_go() {
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || {
    log "go not found; install Go >= 1.25 (or set FAKTORY_BIN for the default server)"
    exit 1
  }
}

# build MODULE_DIR TARGET: builds the Faktory pinned in MODULE_DIR into TARGET
# unless TARGET already is that version (`faktory -v` prints "Faktory X.Y.Z").
build() {
  local module_dir="$1" target="$2" want
  want="$(pinned "$module_dir")"
  if [[ -x "$target" ]] && "$target" -v 2>&1 | grep -qxF "Faktory $want"; then
    log "faktory $want found: $target"
    return
  fi
  have_go
  log "building faktory $want into $target ($(go version))"
  mkdir -p "$bin_dir"
  # Build into a temp dir beside the target and rename, so a concurrent reader
  # never sees a half-written binary. `go install pkg@version` is avoided on
  # purpose: inside the module the version comes from go.mod/go.sum instead.
  local tmp
  tmp="$(mktemp -d "$bin_dir/.build.XXXXXX")"
  (cd "$module_dir" && GOBIN="$tmp" GOFLAGS=-mod=readonly go install github.com/contribsys/faktory/cmd/faktory) ||
    { rm -rf "$tmp"; exit 1; }
  mv -f "$tmp/faktory" "$target"
  rm -rf "$tmp"
  log "installed $("$target" -v 2>&1 | head -n1): $target"
}

if [[ -n "${FAKTORY_BIN:-}" && -x "${FAKTORY_BIN}" ]]; then
  log "faktory: using FAKTORY_BIN=$FAKTORY_BIN"
else
  build "$repo/scripts/faktory" "$bin_dir/faktory"
fi
for module_dir in "$repo"/scripts/faktory-*/; do
  module_dir="${module_dir%/}"
  build "$module_dir" "$bin_dir/faktory-$(pinned "$module_dir")"
done
