// Command kvbench hammers a kvlite server with puts and gets.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"example.com/kvlite/cli/internal/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7379", "server address")
	workers := flag.Int("c", 8, "concurrent connections")
	n := flag.Int("n", 10000, "operations per worker")
	size := flag.Int("size", 100, "value size in bytes")
	flag.Parse()

	value := make([]byte, *size)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}

	var wg sync.WaitGroup
	errs := make(chan error, *workers)
	start := time.Now()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			kv, err := client.Dial(*addr, 3*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer kv.Close()
			for i := 0; i < *n; i++ {
				key := fmt.Sprintf("bench:%d:%d", w, i)
				if err := kv.Put(key, value); err != nil {
					errs <- err
					return
				}
				if _, err := kv.Get(key); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, "kvbench:", err)
		os.Exit(1)
	}
	elapsed := time.Since(start)
	ops := float64(*workers * *n * 2)
	fmt.Printf("%d ops in %v (%.0f ops/s)\n", int(ops), elapsed, ops/elapsed.Seconds())
	// FIXME: report latency percentiles, not just throughput
}
