//go:build tools

// Package tools only exists so that go.mod pins the Faktory server version;
// `go install github.com/contribsys/faktory/cmd/faktory` from this directory
// builds exactly that version (see scripts/install_deps.sh).
package tools

import _ "github.com/contribsys/faktory/cmd/faktory"
