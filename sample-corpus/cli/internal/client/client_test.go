package client

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// fakeServer answers every request with the given status and value.
func fakeServer(t *testing.T, status int8, value []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		hdr := make([]byte, headerSize)
		for {
			if _, err := io.ReadFull(c, hdr); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint16(hdr[2:])) + int(binary.BigEndian.Uint32(hdr[4:]))
			if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
				return
			}
			out := make([]byte, headerSize)
			out[0] = opReply
			out[1] = byte(status)
			binary.BigEndian.PutUint32(out[4:], uint32(len(value)))
			c.Write(append(out, value...))
		}
	}()
	return ln.Addr().String()
}

func TestGet(t *testing.T) {
	kv, err := Dial(fakeServer(t, 0, []byte("world")), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	v, err := kv.Get("hello")
	if err != nil || string(v) != "world" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestGetNotFound(t *testing.T) {
	kv, err := Dial(fakeServer(t, -2, nil), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	if _, err := kv.Get("missing"); err != ErrNotFound {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestKeyTooLarge(t *testing.T) {
	kv := &KvStore{}
	big := make([]byte, KvstoreMaxKey+1)
	if _, _, err := kv.roundtrip(opGet, big, nil); err != ErrTooLarge {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
}
