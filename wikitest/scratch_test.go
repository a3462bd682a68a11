package wikitest

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestScratchBusyPort(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	dir := t.TempDir()
	s, err := startServer([]string{"php", "-S", ln.Addr().String()}, nil, dir, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	b := time.Now()
	err = waitReady(context.Background(), s, "http://"+ln.Addr().String()+"/api.php", "x")
	t.Log(time.Since(b), err, tailFile(filepath.Join(dir, "log"), 3))
}
