package wikitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// bridge receives the JSON datagrams that MediaWiki's $wgRCFeeds sends, one
// per recent change, and publishes each on its streams with a meta block, as
// Wikimedia's event pipeline does between MediaWiki and EventStreams.
type bridge struct {
	conn *net.UDPConn
	addr string // 127.0.0.1:PORT, for $wgRCFeeds
	done chan struct{}

	mu      sync.Mutex
	domains map[string]string // wiki ID to meta.domain
	streams []*Stream
	dropped int // datagrams that were not JSON objects
}

// newBridge listens on a free UDP port of 127.0.0.1 and starts reading.
func newBridge() (*bridge, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen for recent changes: %w", err)
	}
	// A burst of edits must not overflow the socket while a stream is busy.
	_ = conn.SetReadBuffer(8 << 20)
	b := &bridge{
		conn: conn, addr: conn.LocalAddr().String(), done: make(chan struct{}),
		domains: map[string]string{},
	}
	// Owned by the bridge: close shuts the socket and waits for done.
	go b.run()
	return b, nil
}

// addWiki maps a wiki ID to the meta.domain of its events.
func (b *bridge) addWiki(id, domain string) {
	b.mu.Lock()
	b.domains[id] = domain
	b.mu.Unlock()
}

// attach makes s receive every change from now on.
func (b *bridge) attach(s *Stream) {
	b.mu.Lock()
	b.streams = append(b.streams, s)
	b.mu.Unlock()
}

// detach stops feeding s.
func (b *bridge) detach(s *Stream) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, t := range b.streams {
		if t == s {
			b.streams = append(b.streams[:i], b.streams[i+1:]...)
			return
		}
	}
}

// close stops the bridge and waits for its reader.
func (b *bridge) close() {
	_ = b.conn.Close()
	<-b.done
}

// run reads datagrams until the socket is closed.
func (b *bridge) run() {
	defer close(b.done)
	buf := make([]byte, 64<<10) // the largest datagram MediaWiki sends
	for {
		n, _, err := b.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		b.handle(append([]byte(nil), buf[:n]...))
	}
}

// handle publishes one datagram on every attached stream.
func (b *bridge) handle(datagram []byte) {
	var rc struct {
		Title      string `json:"title"`
		ServerURL  string `json:"server_url"`
		ServerName string `json:"server_name"`
		Wiki       string `json:"wiki"`
	}
	if err := json.Unmarshal(datagram, &rc); err != nil || datagram[0] != '{' {
		b.mu.Lock()
		b.dropped++
		b.mu.Unlock()
		return
	}

	b.mu.Lock()
	domain, ok := b.domains[rc.Wiki]
	streams := append([]*Stream(nil), b.streams...)
	b.mu.Unlock()
	if !ok {
		domain = rc.ServerName
	}
	uri := pageURI(rc.ServerURL, rc.Title)
	now := time.Now()
	for _, s := range streams {
		s.mu.Lock()
		if !s.closed {
			s.publishLocked(domain, uri, datagram, now)
		}
		s.mu.Unlock()
	}
}
