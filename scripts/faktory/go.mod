// Pins the Faktory server used by the test suite. Not part of the library.
// Build: cd scripts/faktory && GOBIN=<dir> go install github.com/contribsys/faktory/cmd/faktory
module faktory-ts/scripts/faktory

go 1.25

require github.com/contribsys/faktory v1.10.0

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/redis/go-redis/v9 v9.22.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
