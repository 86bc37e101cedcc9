// Command kvctl is a small command-line client for kvlite.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"example.com/kvlite/cli/internal/client"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage: kvctl [-addr host:port] <command> [args]

commands:
  get KEY          print the value of KEY
  put KEY [VALUE]  store VALUE (or stdin) under KEY
  del KEY          delete KEY
  ping             check that the server answers
`)
	os.Exit(2)
}

func main() {
	addr := flag.String("addr", envOr("KVLITE_ADDR", "127.0.0.1:7379"), "server address")
	timeout := flag.Duration("timeout", 3*time.Second, "dial timeout")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() < 1 {
		usage()
	}

	kv, err := client.Dial(*addr, *timeout)
	if err != nil {
		fatal(err)
	}
	defer kv.Close()

	args := flag.Args()
	switch args[0] {
	case "get":
		need(args, 2)
		v, err := kv.Get(args[1])
		if errors.Is(err, client.ErrNotFound) {
			fmt.Println("(nil)")
			os.Exit(1)
		}
		if err != nil {
			fatal(err)
		}
		os.Stdout.Write(append(v, '\n'))
	case "put":
		need(args, 2)
		var v []byte
		if len(args) >= 3 {
			v = []byte(args[2])
		} else {
			// TODO: stream large values instead of buffering stdin
			v, err = io.ReadAll(os.Stdin)
			if err != nil {
				fatal(err)
			}
		}
		if err := kv.Put(args[1], v); err != nil {
			fatal(err)
		}
		fmt.Println("OK")
	case "del":
		need(args, 2)
		if err := kv.Del(args[1]); err != nil {
			fatal(err)
		}
		fmt.Println("OK")
	case "ping":
		if err := kv.Ping(); err != nil {
			fatal(err)
		}
		fmt.Println("PONG")
	default:
		usage()
	}
}

func need(args []string, n int) {
	if len(args) < n {
		usage()
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "kvctl: %v\n", err)
	os.Exit(1)
}
