// Pins the Faktory server used by the test suite. Not part of the library.
// Build: cd scripts/faktory && GOBIN=<dir> go install github.com/contribsys/faktory/cmd/faktory
module faktory-ts/scripts/faktory-1.9.4

go 1.25

require github.com/contribsys/faktory v1.9.4

require (
	github.com/BurntSushi/toml v1.5.0 // indirect
	github.com/cespare/xxhash/v2 v2.2.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/redis/go-redis/v9 v9.7.3 // indirect
)
