package wikitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func waitDone(t *testing.T, s *server, what string) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("guard still running after %s", what)
	}
}

func TestGuardEndsWhenTheCommandExits(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	s, err := startServer([]string{"sh", "-c", "echo failing; exit 3"}, nil, t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s, "its command exited")
	if tail := tailFile(log, 1); tail != "failing" {
		t.Errorf("log = %q", tail)
	}
}

func TestGuardKillsTheGroupWhenThePipeCloses(t *testing.T) {
	dir := t.TempDir()
	// The command forks a grandchild, as php -S forks its workers.
	s, err := startServer([]string{"sh", "-c", "sleep 60 & echo $! > child; wait"}, nil,
		dir, filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 200 && child == 0; i++ {
		time.Sleep(10 * time.Millisecond)
		if b, err := readInt(filepath.Join(dir, "child")); err == nil {
			child = b
		}
	}
	if child == 0 {
		t.Fatal("grandchild never started")
	}
	// Closing the pipe is what the death of the test process does.
	s.guard.Close()
	waitDone(t, s, "its pipe closed")
	for i := 0; i < 100; i++ {
		if !alive(child) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("grandchild %d outlived the guard", child)
}

// alive reports whether pid runs; a killed process that init has not yet
// reaped is a zombie, and counts as dead.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndex(s, ") "); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func readInt(path string) (int, error) {
	var n int
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	_, err = fmt.Sscan(string(b), &n)
	return n, err
}
