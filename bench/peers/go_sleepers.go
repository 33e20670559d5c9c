// Peer: tools/scale/sleepers on Go goroutines, for bench/compare.sh.
//
//	go run bench/peers/go_sleepers.go N
//
// N goroutines each sleep for an hour, on one thread (GOMAXPROCS=1, as
// grove's greenlets share one hub). Prints the same RESULT line as grove's
// sleepers: the wall time until every goroutine has started and parked, the
// RSS each costs, and both against the floor measured in the same run the same
// way (one fresh page per sleeper in one plain mapping, no huge pages).
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// vmRSSKB is VmRSS from /proc/self/status, in KiB.
func vmRSSKB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); strings.HasPrefix(line, "VmRSS:") {
			rest := strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(rest, "kB")), 64)
			if err != nil {
				panic(err)
			}
			return v
		}
	}
	panic("no VmRSS in /proc/self/status")
}

const madvNoHugepage = 15 // MADV_NOHUGEPAGE

func floor(n int) (seconds, rssKB float64) {
	page := os.Getpagesize()
	rss0 := vmRSSKB()
	t0 := time.Now()
	mem, err := syscall.Mmap(-1, 0, n*page, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		panic(err)
	}
	if err := syscall.Madvise(mem, madvNoHugepage); err != nil {
		panic(err)
	}
	for i := 0; i < n; i++ {
		mem[i*page] = 1
	}
	seconds = time.Since(t0).Seconds()
	rssKB = vmRSSKB() - rss0
	if err := syscall.Munmap(mem); err != nil {
		panic(err)
	}
	return seconds, rssKB
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run go_sleepers.go N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "go_sleepers: N must be a positive integer, not %q\n", os.Args[1])
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	floorS, floorKB := floor(n)

	var started int64
	runtime.GC() // what the floor left behind is not counted below
	rss0 := vmRSSKB()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			time.Sleep(time.Hour)
		}()
	}
	for atomic.LoadInt64(&started) < int64(n) {
		runtime.Gosched()
	}
	runtime.Gosched() // the last one has parked in Sleep
	startS := time.Since(t0).Seconds()
	perKB := (vmRSSKB() - rss0) / float64(n)
	floorPerKB := floorKB / float64(n)
	fmt.Printf("go sleepers N=%d (%s, GOMAXPROCS=1)\n", n, runtime.Version())
	fmt.Printf("RESULT n=%d start_s=%.4f floor_s=%.4f start_ratio=%.3f rss_kb=%.3f floor_kb=%.3f rss_ratio=%.3f\n",
		n, startS, floorS, startS/floorS, perKB, floorPerKB, perKB/floorPerKB)
}
