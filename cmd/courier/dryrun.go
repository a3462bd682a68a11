package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dryRun is an HTTP transport that lets every request through but edits:
// those it prints and answers as MediaWiki answers a saved edit, with a
// revision id of its own, so the rest of Courier goes on as it would.
type dryRun struct {
	base http.RoundTripper
	out  io.Writer
	mu   sync.Mutex // serialises writes to out
	rev  atomic.Int64
}

// dryRunRevBase is where the made-up revision ids start: far above any
// real one, so they are never mistaken for one.
const dryRunRevBase = 9_000_000_000

func newDryRun(out io.Writer) *dryRun {
	d := &dryRun{base: http.DefaultTransport.(*http.Transport).Clone(), out: out}
	d.rev.Store(dryRunRevBase)
	return d
}

func (d *dryRun) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil {
		return d.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("dry run: read request body: %w", err)
	}
	form, _ := url.ParseQuery(string(body))
	if form.Get("action") != "edit" {
		req.Body = io.NopCloser(bytes.NewReader(body))
		return d.base.RoundTrip(req)
	}
	return d.fakeEdit(req, form), nil
}

// fakeEdit prints the edit and answers it as saved.
func (d *dryRun) fakeEdit(req *http.Request, form url.Values) *http.Response {
	rev := d.rev.Add(1)
	what := "replace the text of"
	if form.Get("section") == "new" {
		what = fmt.Sprintf("add the section %q to", form.Get("sectiontitle"))
	}
	d.mu.Lock()
	fmt.Fprintf(d.out, "dry run: would %s [[%s]] on %s (%d bytes; summary %q)\n",
		what, form.Get("title"), req.URL.Host, len(form.Get("text")), form.Get("summary"))
	d.mu.Unlock()

	answer := fmt.Sprintf(`{"edit":{"result":"Success","title":%q,"pageid":1,`+
		`"oldrevid":%d,"newrevid":%d,"newtimestamp":%q}}`, form.Get("title"), rev-1, rev,
		time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1,
		ProtoMinor: 1, Request: req, ContentLength: int64(len(answer)),
		Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:   io.NopCloser(strings.NewReader(answer)),
	}
}

// dryRunState copies the state file to a temporary one, so a dry run
// starts where the real runs stand and changes nothing of theirs.
func dryRunState(state string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "courier-dry-run-")
	if err != nil {
		return "", nil, fmt.Errorf("dry run: make a temporary state: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	copyPath := filepath.Join(dir, "courier.db")
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(state + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err == nil {
			err = os.WriteFile(copyPath+suffix, data, 0o600)
		}
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("dry run: copy state file %s: %w", state, err)
		}
	}
	return copyPath, cleanup, nil
}
