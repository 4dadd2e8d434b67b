// Command interop drives the Go reference client (github.com/contribsys/faktory/client,
// pinned in go.mod) for tests/interop_test.ts. Not part of the library.
//
//	interop push <url> <queue> <jobtype> <json-args> <json-custom>
//	    pushes one job built with client.NewJob and prints its jid
//	interop fetch <url> <queue> [seconds]
//	    fetches one job (waiting up to seconds, default 20), prints it as the
//	    Go client decoded it (JSON, one line), then ACKs it
//
// The URL goes through the client's own FAKTORY_URL handling (client.Open).
//
// Build: cd scripts/interop && go build -o <dir>/faktory-interop .
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: interop push <url> <queue> <jobtype> <json-args> <json-custom> | interop fetch <url> <queue> [seconds]")
}

func open(url string) (*faktory.Client, error) {
	// Only our URL: FAKTORY_PROVIDER would take precedence over FAKTORY_URL.
	os.Unsetenv("FAKTORY_PROVIDER")
	if err := os.Setenv("FAKTORY_URL", url); err != nil {
		return nil, err
	}
	return faktory.Open()
}

func run(args []string) error {
	if len(args) < 3 {
		return usage()
	}
	switch args[0] {
	case "push":
		if len(args) != 6 {
			return usage()
		}
		var jobArgs []any
		if err := json.Unmarshal([]byte(args[4]), &jobArgs); err != nil {
			return fmt.Errorf("json-args: %w", err)
		}
		var custom map[string]any
		if err := json.Unmarshal([]byte(args[5]), &custom); err != nil {
			return fmt.Errorf("json-custom: %w", err)
		}
		cl, err := open(args[1])
		if err != nil {
			return err
		}
		defer cl.Close()
		job := faktory.NewJob(args[3], jobArgs...)
		job.Queue = args[2]
		job.Custom = custom
		if err := cl.Push(job); err != nil {
			return err
		}
		fmt.Println(job.Jid)
		return nil
	case "fetch":
		wait := 20 * time.Second
		if len(args) == 4 {
			s, err := strconv.Atoi(args[3])
			if err != nil {
				return fmt.Errorf("seconds: %w", err)
			}
			wait = time.Duration(s) * time.Second
		} else if len(args) != 3 {
			return usage()
		}
		cl, err := open(args[1])
		if err != nil {
			return err
		}
		defer cl.Close()
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			job, err := cl.Fetch(args[2]) // nil after ~2 s without a job
			if err != nil {
				return err
			}
			if job == nil {
				continue
			}
			out, err := json.Marshal(job)
			if err != nil {
				return err
			}
			fmt.Println(string(out))
			return cl.Ack(job.Jid)
		}
		return fmt.Errorf("no job in queue %s within %s", args[2], wait)
	}
	return usage()
}
