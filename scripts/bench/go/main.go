// Command faktory-bench-go drives the Go reference client
// (github.com/contribsys/faktory/client, pinned in go.mod) for scripts/bench.ts.
// Not part of the library. It reads FAKTORY_URL like every Go client and
// prints one JSON line: {"jobs":N,"seconds":S,"cpu":C,...}, where cpu is the
// process's user+system CPU seconds (getrusage) spent in the measured phase.
//
//	faktory-bench-go push-seq <jobs>
//	faktory-bench-go push-conc <jobs> <concurrency>
//	faktory-bench-go pushb <jobs> <batch>
//	faktory-bench-go drain <jobs> <concurrency>
//	faktory-bench-go connect <count>
//
// The workloads mirror the TypeScript runners in scripts/bench/: jobs are
// client.NewJob("SomeJob", 1, "string", 3) (the load tester's job); drain
// takes <jobs> jobs already waiting in "default" with <concurrency>
// goroutines, each on its own connection (as the load tester's poppers), and
// ACKs each one.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	faktory "github.com/contribsys/faktory/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "faktory-bench-go:", err)
		os.Exit(1)
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func intArg(args []string, i int) (int, error) {
	if len(args) <= i {
		return 0, fmt.Errorf("missing argument %d", i)
	}
	return strconv.Atoi(args[i])
}

func newJob() *faktory.Job {
	return faktory.NewJob("SomeJob", 1, "string", 3)
}

// clients opens n connections in parallel.
func clients(n int) ([]*faktory.Client, error) {
	out := make([]*faktory.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out[i], errs[i] = faktory.Open()
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parallel runs fn on every client in its own goroutine; the first error wins.
func parallel(cs []*faktory.Client, fn func(c *faktory.Client) error) error {
	var wg sync.WaitGroup
	var first atomic.Value
	for _, c := range cs {
		wg.Add(1)
		go func(c *faktory.Client) {
			defer wg.Done()
			if err := fn(c); err != nil {
				first.CompareAndSwap(nil, err)
			}
		}(c)
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: faktory-bench-go push-seq|push-conc|pushb|drain|connect <n> [m] [warmup]")
	}
	mode := args[0]
	n, err := intArg(args, 1)
	if err != nil {
		return err
	}
	result := map[string]any{"mode": mode}
	switch mode {
	case "connect":
		// Sequential connects, each timed from dial to the HELLO's +OK.
		times := make([]float64, 0, n)
		cpu0 := cpuSeconds()
		for i := 0; i < n; i++ {
			start := time.Now()
			c, err := faktory.Open()
			if err != nil {
				return err
			}
			times = append(times, time.Since(start).Seconds()*1000)
			c.Close()
		}
		result["ms"] = times
		result["cpu"] = cpuSeconds() - cpu0
	case "push-seq", "push-conc", "pushb", "drain":
		conc := 1
		if mode == "push-conc" || mode == "drain" || mode == "pushb" {
			if conc, err = intArg(args, 2); err != nil {
				return err
			}
		}
		nconn := conc
		if mode == "pushb" {
			nconn = 1 // conc is the batch size
		}
		cs, err := clients(nconn)
		if err != nil {
			return err
		}
		// An optional warm-up: jobs done first, untimed, as the JavaScript
		// runners do theirs (Go compiles ahead of time; it is here for symmetry).
		warmup := 0
		if len(args) > 3 {
			if warmup, err = intArg(args, 3); err != nil {
				return err
			}
		}
		var cpu0 float64
		var start time.Time
		begin := func() {
			cpu0 = cpuSeconds()
			start = time.Now()
		}
		work := func(jobs int) error {
			var claimed int64
			claim := func() bool { return atomic.AddInt64(&claimed, 1) <= int64(jobs) }
			switch mode {
			case "push-seq", "push-conc":
				return parallel(cs, func(c *faktory.Client) error {
					for claim() {
						if err := c.Push(newJob()); err != nil {
							return err
						}
					}
					return nil
				})
			case "pushb":
				c := cs[0]
				for done := 0; done < jobs; done += conc {
					batch := make([]*faktory.Job, 0, conc)
					for i := 0; i < conc && done+i < jobs; i++ {
						batch = append(batch, newJob())
					}
					refused, err := c.PushBulk(batch)
					if err != nil {
						return err
					}
					if len(refused) > 0 {
						return fmt.Errorf("%d jobs refused", len(refused))
					}
				}
				return nil
			}
			// drain: timed from the last warm-up job's ACK
			var acked int64
			return parallel(cs, func(c *faktory.Client) error {
				for claim() {
					job, err := c.Fetch("default")
					if err != nil {
						return err
					}
					if job == nil {
						return fmt.Errorf("queue empty before %d jobs", jobs)
					}
					if err := c.Ack(job.Jid); err != nil {
						return err
					}
					if atomic.AddInt64(&acked, 1) == int64(warmup) {
						begin()
					}
				}
				return nil
			})
		}
		if mode == "drain" {
			begin()
			err = work(warmup + n)
		} else {
			if warmup > 0 {
				if err = work(warmup); err != nil {
					return err
				}
			}
			begin()
			err = work(n)
		}
		elapsed := time.Since(start).Seconds()
		result["cpu"] = cpuSeconds() - cpu0
		if err != nil {
			return err
		}
		for _, c := range cs {
			c.Close()
		}
		result["jobs"] = n
		result["seconds"] = elapsed
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	line, err := json.Marshal(result)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}
