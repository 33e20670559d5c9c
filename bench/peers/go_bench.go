// Peer: grove's workloads on Go goroutines, for bench/compare.sh.
//
//	go run bench/peers/go_bench.go [-reps 5] [-quick] [-curves=false] > go.json
//
// GOMAXPROCS=1, so goroutines are multiplexed on one thread as grove's
// greenlets are on one hub. Times are process CPU time (getrusage: Go's GC
// and timer threads count too, as they are part of what the program costs),
// median of -reps repetitions. Prints JSON shaped like the gevent peer's:
//
//	{"peer": "go", "version": ..., "results": {"name": {"ns_per_op": median, "reps": [...]}}}
//
// Names: the core rows (yield_ring_2, spawn_join, spawn_batch_20000,
// queue_pingpong) and issue #18's curves, <shape>_<N> for N = 10 … 1M
// (yield_ring, event_wake_all, queue_fan_in, spawn_batch, timer_arm_cancel,
// timer_churn, timer_churn_early), the same shapes as bench/curves_bench.cpp.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// measure runs body(iters) until it has taken at least minNs of CPU time,
// doubling iters, and returns CPU ns per op (opsPerIter ops per iteration).
// Each body sets up, brackets its timed loop with startTimer/stopTimer and
// tears down.
func measure(minNs int64, opsPerIter float64, iters int, body func(iters int)) float64 {
	for {
		lastOps = 0
		runtime.GC()
		body(iters)
		if lastStop-lastStart >= minNs || iters >= 1<<30 {
			ops := float64(iters) * opsPerIter
			if lastOps > 0 {
				ops = lastOps
			}
			return float64(lastStop-lastStart) / ops
		}
		iters *= 2
	}
}

// Bodies record the timed section's bounds here (all runs are sequential),
// and, when they count their operations themselves, how many there were.
var lastStart, lastStop int64
var lastOps float64

// No runtime.GC() here: with GOMAXPROCS=1 a collection started while N
// goroutines spin on Gosched never finishes (it cannot catch them still to
// scan their stacks); measure() collects before each body instead.
func startTimer() { lastStart = cpuNs() }
func stopTimer()  { lastStop = cpuNs() }

// --- yield ring: N goroutines in all (main + N-1) call Gosched in turn; per
// yield. Go's Gosched goes through the global run queue, which is FIFO, so it
// is a ring too; to be exact regardless, the yields are counted, not assumed.
var ringYields int64

func yieldRing(n int) func(int) {
	return func(iters int) {
		// The ring allocates nothing; GC off, so that no collection starts
		// while it spins (see startTimer).
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		var stop atomic.Bool
		var wg sync.WaitGroup
		for i := 1; i < n; i++ {
			wg.Add(1)
			go func() {
				for !stop.Load() {
					ringYields++ // GOMAXPROCS=1: one goroutine runs at a time
					runtime.Gosched()
				}
				wg.Done()
			}()
		}
		runtime.Gosched()
		ringYields = 0
		startTimer()
		for i := 0; i < iters; i++ {
			ringYields++
			runtime.Gosched()
		}
		stopTimer()
		counted := ringYields
		stop.Store(true)
		wg.Wait()
		lastOps = float64(counted)
	}
}

// --- Event wake-all: Go has no Event; the idiom for "wake every waiter" is
// closing a channel. Each round publishes the next round's channel before
// closing its own; the last waiter to resume tells main on `done`.
type round struct {
	ch   chan struct{}
	next *round
}

func eventWakeAll(n int) func(int) {
	return func(iters int) {
		var resumed atomic.Int64
		done := make(chan struct{}, 1)
		var stop atomic.Bool
		var wg sync.WaitGroup
		r := &round{ch: make(chan struct{})}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(r *round) {
				for ; ; r = r.next {
					<-r.ch
					if stop.Load() {
						wg.Done()
						return
					}
					if resumed.Add(1) == int64(n) {
						done <- struct{}{}
					}
				}
			}(r)
		}
		runtime.Gosched()
		startTimer()
		for i := 0; i < iters; i++ {
			resumed.Store(0)
			next := &round{ch: make(chan struct{})}
			r.next = next
			close(r.ch)
			<-done
			r = next
		}
		stopTimer()
		stop.Store(true)
		close(r.ch)
		wg.Wait()
	}
}

// --- Queue fan-in: N producers send into one channel of capacity 1, main
// receives; per item. At the end each producer sends one -1 and returns.
func queueFanIn(n int) func(int) {
	return func(iters int) {
		q := make(chan int, 1)
		var stop atomic.Bool
		for i := 0; i < n; i++ {
			go func() {
				for {
					last := stop.Load()
					if last {
						q <- -1
						return
					}
					q <- 1
				}
			}()
		}
		runtime.Gosched()
		startTimer()
		for i := 0; i < iters; i++ {
			<-q
		}
		stopTimer()
		stop.Store(true)
		for ended := 0; ended < n; {
			if <-q < 0 {
				ended++
			}
		}
	}
}

// --- spawn N, then wait for all (WaitGroup); per goroutine.
func spawnBatch(n int) func(int) {
	return func(iters int) {
		var runs atomic.Int64
		startTimer()
		for i := 0; i < iters; i++ {
			var wg sync.WaitGroup
			wg.Add(n)
			for k := 0; k < n; k++ {
				go func() { runs.Add(1); wg.Done() }()
			}
			wg.Wait()
		}
		stopTimer()
	}
}

func spawnJoin(iters int) {
	done := make(chan struct{})
	startTimer()
	for i := 0; i < iters; i++ {
		go func() { done <- struct{}{} }()
		<-done
	}
	stopTimer()
}

func queuePingPong(iters int) {
	there, back := make(chan int, 1), make(chan int, 1)
	go func() {
		for v := range there {
			back <- v
		}
	}()
	startTimer()
	for i := 0; i < iters; i++ {
		there <- i
		<-back
	}
	stopTimer()
	close(there)
}

// --- timers: the same fixed pseudo-random 10–20 s dues as curves_bench.cpp.
func durations(n int) []time.Duration {
	d := make([]time.Duration, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range d {
		x = x*6364136223846793005 + 1442695040888963407
		s := 10.0 + float64(x>>11)*(10.0/9007199254740992.0)
		d[i] = time.Duration(s * 1e9)
	}
	return d
}

func noop() {}

// Arm N timers (time.AfterFunc), then Stop them all; per timer.
func timerArmCancel(n int) func(int) {
	return func(iters int) {
		d := durations(n)
		ts := make([]*time.Timer, n)
		startTimer()
		for i := 0; i < iters; i++ {
			for k := range ts {
				ts[k] = time.AfterFunc(d[k], noop)
			}
			for _, t := range ts {
				t.Stop()
			}
		}
		stopTimer()
	}
}

// With N timers pending, arm + stop one more (Reset + Stop of a reused timer).
func timerChurn(n int, early bool) func(int) {
	return func(iters int) {
		d := durations(n + 1)
		pending := make([]*time.Timer, n)
		for k := range pending {
			pending[k] = time.AfterFunc(d[k], noop)
		}
		due := d[n]
		if early {
			due = 5 * time.Second
		}
		t := time.AfterFunc(due, noop)
		t.Stop()
		startTimer()
		for i := 0; i < iters; i++ {
			t.Reset(due)
			t.Stop()
		}
		stopTimer()
		for _, p := range pending {
			p.Stop()
		}
	}
}

type result struct {
	NsPerOp float64   `json:"ns_per_op"`
	Reps    []float64 `json:"reps"`
}

func main() {
	reps := flag.Int("reps", 5, "repetitions (median reported)")
	quick := flag.Bool("quick", false, "short runs, 1 repetition, N ≤ 10k")
	curves := flag.Bool("curves", true, "run issue #18's curves (N = 10 … 1M)")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	minNs := int64(200e6)
	maxN := 1000000
	if *quick {
		*reps, minNs, maxN = 1, 20e6, 10000
	}
	results := map[string]result{}
	run := func(name string, r int, ops float64, iters int, min int64, body func(int)) {
		var v []float64
		for i := 0; i < r; i++ {
			v = append(v, measure(min, ops, iters, body))
		}
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		results[name] = result{NsPerOp: s[len(s)/2], Reps: v}
		fmt.Fprintf(os.Stderr, "%s: %.1f ns\n", name, s[len(s)/2])
	}
	run("yield_ring_2", *reps, 2, 1024, minNs, yieldRing(2))
	run("spawn_join", *reps, 1, 1024, minNs, spawnJoin)
	run("spawn_batch_20000", *reps, 20000, 1, minNs, spawnBatch(20000))
	run("queue_pingpong", *reps, 1, 1024, minNs, queuePingPong)
	if *curves {
		for n := 10; n <= maxN; n *= 10 {
			// Large N: setup takes seconds, so one timed pass (min 0) and, as
			// curves_bench does, 3 repetitions at 100k and 1 at 1M.
			r, min, iters := *reps, minNs, 1
			if n >= 100000 {
				r, min = 3, 0
				if n >= 1000000 {
					r = 1
				}
				if r > *reps {
					r = *reps
				}
			}
			perN := float64(n)
			run(fmt.Sprintf("yield_ring_%d", n), r, perN, iters, min, yieldRing(n))
			run(fmt.Sprintf("event_wake_all_%d", n), r, perN, iters, min, eventWakeAll(n))
			fanIters := 1024
			if n >= 100000 {
				fanIters = 3 * n
			}
			run(fmt.Sprintf("queue_fan_in_%d", n), r, 1, fanIters, min, queueFanIn(n))
			run(fmt.Sprintf("spawn_batch_%d", n), r, perN, iters, min, spawnBatch(n))
			run(fmt.Sprintf("timer_arm_cancel_%d", n), r, perN, iters, min, timerArmCancel(n))
			churnIters := 1024
			if n >= 100000 {
				churnIters = 1 << 20
			}
			run(fmt.Sprintf("timer_churn_%d", n), r, 1, churnIters, min, timerChurn(n, false))
			run(fmt.Sprintf("timer_churn_early_%d", n), r, 1, churnIters, min, timerChurn(n, true))
		}
	}
	out := map[string]any{"peer": "go", "version": runtime.Version(), "gomaxprocs": 1, "results": results}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
