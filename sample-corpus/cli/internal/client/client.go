// Package client implements the kvlite wire protocol for Go programs.
package client

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

const (
	opPing  = 0x00
	opGet   = 0x01
	opPut   = 0x02
	opDel   = 0x03
	opReply = 0x80

	headerSize = 8

	KvstoreMaxKey   = 256
	KvstoreMaxValue = 1 << 20
)

var (
	ErrNotFound = errors.New("kvlite: key not found")
	ErrTooLarge = errors.New("kvlite: key or value too large")
)

// KvStore is a connection to a kvlite server. It is not safe for
// concurrent use.
type KvStore struct {
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to a kvlite server at addr ("host:port").
func Dial(addr string, timeout time.Duration) (*KvStore, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &KvStore{conn: c, r: bufio.NewReader(c)}, nil
}

func (kv *KvStore) Close() error { return kv.conn.Close() }

func (kv *KvStore) roundtrip(op byte, key, value []byte) (int8, []byte, error) {
	if len(key) > KvstoreMaxKey || len(value) > KvstoreMaxValue {
		return 0, nil, ErrTooLarge
	}
	hdr := make([]byte, headerSize)
	hdr[0] = op
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(key)))
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(value)))
	buf := append(append(hdr, key...), value...)
	if _, err := kv.conn.Write(buf); err != nil {
		return 0, nil, err
	}

	if _, err := io.ReadFull(kv.r, hdr); err != nil {
		return 0, nil, err
	}
	if hdr[0] != opReply {
		return 0, nil, fmt.Errorf("kvlite: unexpected op %#x in reply", hdr[0])
	}
	status := int8(hdr[1])
	klen := binary.BigEndian.Uint16(hdr[2:])
	vlen := binary.BigEndian.Uint32(hdr[4:])
	body := make([]byte, int(klen)+int(vlen))
	if _, err := io.ReadFull(kv.r, body); err != nil {
		return 0, nil, err
	}
	return status, body[klen:], nil
}

func statusErr(status int8) error {
	switch status {
	case 0:
		return nil
	case -2:
		return ErrNotFound
	case -3:
		return ErrTooLarge
	default:
		return fmt.Errorf("kvlite: server status %d", status)
	}
}

// Get returns the value stored under key.
func (kv *KvStore) Get(key string) ([]byte, error) {
	st, v, err := kv.roundtrip(opGet, []byte(key), nil)
	if err != nil {
		return nil, err
	}
	return v, statusErr(st)
}

// Put stores value under key, replacing any previous value.
func (kv *KvStore) Put(key string, value []byte) error {
	st, _, err := kv.roundtrip(opPut, []byte(key), value)
	if err != nil {
		return err
	}
	return statusErr(st)
}

// Del removes key. Deleting a missing key returns ErrNotFound.
func (kv *KvStore) Del(key string) error {
	st, _, err := kv.roundtrip(opDel, []byte(key), nil)
	if err != nil {
		return err
	}
	return statusErr(st)
}

// Ping checks that the server is alive.
func (kv *KvStore) Ping() error {
	st, _, err := kv.roundtrip(opPing, nil, nil)
	if err != nil {
		return err
	}
	return statusErr(st)
}
