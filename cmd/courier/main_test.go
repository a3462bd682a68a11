package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"courier/store"
)

// TestUsage checks exit codes and messages of usage mistakes and -h.
func TestUsage(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{nil, 2, "", "Usage: courier COMMAND"},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"deliver"}, 2, "", `unknown command "deliver"`},
		{[]string{"status", "-bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"run", "-h"}, 0, "Example:\n  COURIER_PASSWORD=... courier run", ""},
		{[]string{"check", "-h"}, 0, "Example:", ""},
		{[]string{"status", "-h"}, 0, "-request id", ""},
		{[]string{"parse", "-h"}, 0, "Example:", ""},
		{[]string{"check", "-config", "/nonexistent/courier.toml"}, 1, "", "read config"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &out, &errOut)
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout does not hold %q:\n%s", tt.out, &out)
			}
			if !strings.Contains(errOut.String(), tt.inErr) {
				t.Errorf("stderr does not hold %q:\n%s", tt.inErr, &errOut)
			}
		})
	}
}

// TestStatusOfAnEmptyState runs courier status on a fresh state file.
func TestStatusOfAnEmptyState(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte(`state = "`+filepath.Join(dir, "s.db")+`"
[account]
username = "Courier@courier"
user_agent = "Courier/test (ops@example.org)"
[home]
wiki = "metawiki"
[[wikis]]
id = "metawiki"
domain = "meta.wikimedia.org"
api = "https://meta.wikimedia.org/w/api.php"
`), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"status", "-config", cfg}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "no such file") {
		t.Errorf("status before any run: exit %d, %q; want 1 and the missing file named",
			code, &errOut)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	errOut.Reset()
	if code := run([]string{"status", "-config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, &errOut)
	}
	if !strings.Contains(out.String(), "ID") {
		t.Errorf("status printed no table header:\n%s", &out)
	}
	out.Reset()
	if code := run([]string{"status", "-config", cfg, "-json"}, &out, &errOut); code != 0 ||
		strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("status -json = %q (exit %d), want []", &out, code)
	}
	if code := run([]string{"status", "-config", cfg, "-request", "5"}, &out, &errOut); code != 1 {
		t.Errorf("status -request of an unknown request: exit %d, want 1", code)
	}
}
