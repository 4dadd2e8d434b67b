// The Go reference client, for tests/interop_test.ts. Not part of the library.
// Same Faktory version as the test server (scripts/faktory/go.mod).
module faktory-ts/scripts/interop

go 1.25

require github.com/contribsys/faktory v1.10.0
