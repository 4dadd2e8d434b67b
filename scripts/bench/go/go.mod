// The Go reference client driven by scripts/bench.ts (push, drain, connect).
// Not part of the library. Same Faktory version as the test server
// (scripts/faktory/go.mod). Build: cd scripts/bench/go && go build -o <dir>/faktory-bench-go .
module faktory-ts/scripts/bench/go

go 1.25

require github.com/contribsys/faktory v1.10.0
