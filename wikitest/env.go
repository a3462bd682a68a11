package wikitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// WikiSpec names one wiki of an Env.
type WikiSpec struct {
	ID       string // database name and the events' "wiki", e.g. "metawiki"
	Domain   string // meta.domain and the name in #target lists, e.g. "meta.wikitest.local"
	SiteName string // e.g. "Meta": the project namespace is named after it
}

// Options configure Start.
type Options struct {
	// Wikis to run; at least one.
	Wikis []WikiSpec

	// Dir holds the wikis' files. Default: a new temporary directory,
	// removed by Close.
	Dir string

	// Workers is PHP_CLI_SERVER_WORKERS, the requests each wiki serves in
	// parallel. Default 4.
	Workers int

	// Extensions are loaded (and installed) in addition to ParserFunctions,
	// by their directory names under MediaWiki's extensions/, e.g.
	// "AbuseFilter". A new list makes a new cached install.
	Extensions []string

	// Settings is PHP code appended to every wiki's LocalSettings.php, for
	// a test that needs, say, tight $wgRateLimits.
	Settings string

	// DeferJobs leaves the jobs an API write queues in the queue, for
	// index.php views and RunJobs to run, instead of running them before
	// the write answers. Edits answer about twice as fast; category
	// membership events and link updates of other pages wait for RunJobs.
	DeferJobs bool

	// CacheDir keeps the installed template between runs. Default:
	// $WIKITEST_CACHE, else courier-wikitest in the user's cache directory.
	CacheDir string
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return 4
}

func (o Options) extensions() []string {
	return append(append([]string(nil), defaultExtensions...), o.Extensions...)
}

// Startup reports how long Start took.
type Startup struct {
	Total    time.Duration // all of Start
	Template time.Duration // finding or installing the cached template
	Cold     bool          // the template was installed by this Start
}

// Env is a set of running wikis and the stream their changes go to.
type Env struct {
	Wikis   []*Wiki // in the order of Options.Wikis
	Stream  *Stream // fed by every wiki
	Startup Startup

	dir     string
	ownDir  bool
	bridge  *bridge
	mu      sync.Mutex
	streams []*Stream // made by NewStream, closed with the Env
	closed  bool
}

// Start installs (or copies from the cache) and serves the wikis of opts,
// with a stream fed by all of them, and returns when every wiki answers.
// The caller must Close the Env. If the test process dies without closing
// it, the PHP servers die with it (see Processes in the package doc).
func Start(ctx context.Context, opts Options) (*Env, error) {
	began := time.Now()
	if len(opts.Wikis) == 0 {
		return nil, errors.New("start wikis: no wikis in Options")
	}
	seen := map[string]bool{}
	for _, spec := range opts.Wikis {
		if spec.ID == "" || spec.Domain == "" || spec.SiteName == "" || seen[spec.ID] {
			return nil, fmt.Errorf("start wikis: bad or repeated spec %+v", spec)
		}
		seen[spec.ID] = true
	}

	inst, err := findInstallation(ctx)
	if err != nil {
		return nil, err
	}
	root := opts.CacheDir
	if root == "" {
		root = cacheRoot()
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("find template cache: %w", err)
	}
	// Compiled PHP is kept with the templates; without the directory PHP
	// just compiles in memory.
	inst.opcache = filepath.Join(root, "opcache")
	if err := os.MkdirAll(inst.opcache, 0o755); err != nil {
		inst.opcache = ""
	}
	tmpl, err := ensureTemplate(ctx, inst, root, opts.extensions())
	if err != nil {
		return nil, err
	}
	e := &Env{Startup: Startup{Template: time.Since(began), Cold: tmpl.cold}}

	e.dir = opts.Dir
	if e.dir == "" {
		sweepStaleDirs()
		if e.dir, err = os.MkdirTemp("", tempPrefix+"*"); err != nil {
			return nil, fmt.Errorf("make wikis directory: %w", err)
		}
		e.ownDir = true
		owner := []byte(strconv.Itoa(os.Getpid()))
		if err := os.WriteFile(filepath.Join(e.dir, ownerFile), owner, 0o644); err != nil {
			_ = os.RemoveAll(e.dir)
			return nil, fmt.Errorf("mark wikis directory: %w", err)
		}
	} else {
		// PHP runs in each wiki's directory: every path it gets is absolute.
		if e.dir, err = filepath.Abs(e.dir); err != nil {
			return nil, fmt.Errorf("find wikis directory: %w", err)
		}
		if err := os.MkdirAll(e.dir, 0o755); err != nil {
			return nil, fmt.Errorf("make wikis directory: %w", err)
		}
	}
	inst.blacklist = filepath.Join(e.dir, "opcache-blacklist.txt")
	if err := os.WriteFile(inst.blacklist, []byte(e.dir+"/\n"), 0o644); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("write opcache blacklist: %w", err)
	}
	if err := e.startServices(ctx, inst, tmpl, opts); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.Startup.Total = time.Since(began)
	return e, nil
}

// startServices starts the bridge, the stream and the wikis, in parallel.
func (e *Env) startServices(ctx context.Context, inst installation, t template,
	opts Options) error {
	var err error
	if e.bridge, err = newBridge(); err != nil {
		return err
	}
	if e.Stream, err = NewStream(); err != nil {
		return err
	}
	e.bridge.attach(e.Stream)

	router := filepath.Join(e.dir, "router.php")
	script := routerScript(inst.mwDir, opts.DeferJobs)
	if err := os.WriteFile(router, []byte(script), 0o644); err != nil {
		return fmt.Errorf("write router: %w", err)
	}

	e.Wikis = make([]*Wiki, len(opts.Wikis))
	errs := make([]error, len(opts.Wikis))
	var wg sync.WaitGroup
	for i, spec := range opts.Wikis {
		e.bridge.addWiki(spec.ID, spec.Domain)
		wg.Add(1)
		// Owned by startServices, which waits for all of them.
		go func() {
			defer wg.Done()
			e.Wikis[i], errs[i] = startWiki(ctx, inst, t, e.dir, router, spec, opts, e.bridge.addr)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Wiki returns the wiki with the given ID, or nil.
func (e *Env) Wiki(id string) *Wiki {
	for _, w := range e.Wikis {
		if w != nil && w.ID == id {
			return w
		}
	}
	return nil
}

// NewStream returns a further stream fed by the Env's wikis from now on,
// closed with the Env: for a test that arms stream faults without
// disturbing others that share e.Stream.
func (e *Env) NewStream() (*Stream, error) {
	s, err := NewStream()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = s.Close()
		return nil, errors.New("new stream: env closed")
	}
	e.streams = append(e.streams, s)
	e.bridge.attach(s)
	return s, nil
}

// Close stops the wikis, the stream and the bridge, and removes the wikis'
// directory if Start made it. It is safe to call twice.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	streams := e.streams
	e.mu.Unlock()

	var wg sync.WaitGroup
	for _, w := range e.Wikis {
		if w == nil {
			continue
		}
		wg.Add(1)
		// Owned by Close, which waits for every wiki to be down.
		go func() {
			defer wg.Done()
			w.stop()
		}()
	}
	wg.Wait()
	if e.bridge != nil {
		e.bridge.close()
	}
	for _, s := range append(streams, e.Stream) {
		if s != nil {
			_ = s.Close()
		}
	}
	if e.ownDir {
		if err := os.RemoveAll(e.dir); err != nil {
			return fmt.Errorf("remove wikis directory: %w", err)
		}
	}
	return nil
}

// tempPrefix and ownerFile mark the temporary directories Start makes, so a
// later Start can remove those of test processes that died without Close.
const (
	tempPrefix = "wikitest-"
	ownerFile  = "owner.pid"
)

// sweepStaleDirs removes temporary wikis directories whose owning process
// is gone (its PHP servers died with it; see guardScript).
func sweepStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*", ownerFile))
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Dir(f))
		}
	}
}

// SharedWikis are the wikis of the Shared Env.
var SharedWikis = []WikiSpec{
	{ID: "metawiki", Domain: "meta.wikitest.local", SiteName: "Meta"},
	{ID: "enwiki", Domain: "en.wikitest.local", SiteName: "Wikipedia"},
}

var shared struct {
	once sync.Once
	env  *Env
	err  error
}

// Shared returns the Env of this test binary, started on first use with
// SharedWikis, and fails the test if it cannot start (MediaWiki or PHP
// missing: the message names the packages to apt-get install). Tests that
// share it use page titles of their own (t.Name() in them, say) and must not
// run in parallel with tests that arm faults on its Stream. A package that
// uses Shared calls Main from its TestMain, which closes the Env.
func Shared(tb testing.TB) *Env {
	tb.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.env, shared.err = Start(ctx, Options{Wikis: SharedWikis})
	})
	if shared.err != nil {
		tb.Fatalf("wikitest: start the shared wikis: %v", shared.err)
	}
	return shared.env
}

// Main runs the tests of a package that uses Shared and then closes the
// shared Env; call it from TestMain:
//
//	func TestMain(m *testing.M) { wikitest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		if err := shared.env.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "wikitest: close the shared wikis: %v\n", err)
		}
	}
	os.Exit(code)
}
