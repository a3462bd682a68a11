package wikitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BotAppID and BotGrants are what CreateBot gives a bot password: the
// application id (so the login name is NAME@courier) and the grants Courier
// needs to edit talk pages at bot speed.
const (
	BotAppID  = "courier"
	BotGrants = "basic,highvolume,editpage,createeditmovepage"
)

// botPasswordChars are the characters MediaWiki accepts in a bot password;
// a password of anything else, or shorter than 32, is taken as a main
// account password and refused.
const botPasswordChars = "0123456789abcdefghijklmnopqrstuvw"

// scriptTimeout bounds every maintenance script a helper runs.
const scriptTimeout = 2 * time.Minute

// Wiki is one running MediaWiki, served by PHP's built-in server on
// 127.0.0.1, with its recent changes fed to the Env's stream.
type Wiki struct {
	ID       string // the database name and the events' "wiki", e.g. "metawiki"
	Domain   string // the meta.domain of its events and its name in #target lists
	SiteName string // $wgSitename, which also names the project namespace
	URL      string // http://127.0.0.1:PORT
	API      string // URL + "/api.php"
	Index    string // URL + "/index.php"
	Dir      string // its SQLite files, LocalSettings.php, server.log, exception.log

	inst     installation
	settings string // path of LocalSettings.php
	srv      *server

	adminMu sync.Mutex
	admin   *Session
}

// startWiki copies the template, writes the settings and serves the wiki.
func startWiki(ctx context.Context, inst installation, t template, dir, router string,
	spec WikiSpec, o Options, feed string) (*Wiki, error) {
	w := &Wiki{
		ID: spec.ID, Domain: spec.Domain, SiteName: spec.SiteName,
		Dir: filepath.Join(dir, spec.ID), inst: inst,
	}
	w.settings = filepath.Join(w.Dir, "LocalSettings.php")
	if err := os.MkdirAll(filepath.Join(w.Dir, "cache"), 0o755); err != nil {
		return nil, fmt.Errorf("make wiki directory: %w", err)
	}
	if err := copyTemplate(t, w.Dir, spec.ID); err != nil {
		return nil, err
	}

	// The port is found free and then handed to PHP; another process may
	// take it in between, so a failed bind is tried again on a new one.
	var err error
	for try := 0; try < 3; try++ {
		err = w.serve(ctx, t, router, o, feed)
		if err == nil || !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	return w, nil
}

// serve writes LocalSettings.php for a free port and starts PHP on it.
func (w *Wiki) serve(ctx context.Context, t template, router string, o Options,
	feed string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	w.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	w.API = w.URL + "/api.php"
	w.Index = w.URL + "/index.php"
	settings := localSettings(siteConfig{
		mwDir: w.inst.mwDir, dataDir: w.Dir, l10nDir: filepath.Join(t.dir, "l10n"),
		dbName: w.ID, siteName: w.SiteName, server: w.URL, secretKey: randomHex(32),
		udpFeed: feed, extensions: o.extensions(), extra: o.Settings,
		debugLog: os.Getenv("WIKITEST_DEBUG") != "",
	})
	if err := os.WriteFile(w.settings, []byte(settings), 0o644); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}

	argv := []string{w.inst.php}
	argv = append(argv, phpServerFlags...)
	argv = append(argv, w.inst.cacheFlags()...)
	argv = append(argv, "-S", "127.0.0.1:"+strconv.Itoa(port), "-t", w.inst.mwDir, router)
	env := []string{
		"MW_CONFIG_FILE=" + w.settings,
		"MW_INSTALL_PATH=" + w.inst.mwDir,
		"PHP_CLI_SERVER_WORKERS=" + strconv.Itoa(o.workers()),
	}
	logPath := filepath.Join(w.Dir, "server.log")
	srv, err := startServer(argv, env, w.Dir, logPath)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, srv, w.API, w.ID); err != nil {
		srv.stop()
		return fmt.Errorf("%w; server log:\n%s", err, tailFile(logPath, 20))
	}
	w.srv = srv
	return nil
}

// phpServerFlags tune PHP for the test servers: opcache on, with timestamps
// checked once a minute only (MediaWiki's code does not change under a
// running test) and a file cache shared with other wikis and runs (added by
// serve), APCu for the object cache, and PHP warnings to the server log, never
// into an answer: MediaWiki's SQLite lock files race under parallel writes
// and warn about it, which must not break the JSON a client reads.
var phpServerFlags = []string{
	"-d", "opcache.enable=1",
	"-d", "opcache.enable_cli=1",
	"-d", "opcache.memory_consumption=256",
	"-d", "opcache.interned_strings_buffer=16",
	"-d", "opcache.max_accelerated_files=20000",
	"-d", "opcache.revalidate_freq=60",
	"-d", "apc.enabled=1",
	"-d", "apc.shm_size=128M",
	"-d", "memory_limit=512M",
	"-d", "display_errors=0",
	"-d", "html_errors=0",
	"-d", "log_errors=1",
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls api.php until it answers siteinfo for wiki id.
func waitReady(ctx context.Context, srv *server, api, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	// A server that died mid-probe (its port was taken by another program
	// that never answers, say) must not leave the probe hanging.
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-srv.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		cancel()
		<-watched
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	probe := api + "?action=query&meta=siteinfo&format=json&formatversion=2"
	for {
		if srv.exited() {
			return exitError(srv)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
		if err != nil {
			return fmt.Errorf("probe wiki: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"wikiid":"`+id+`"`) {
				return nil
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "wikiid") {
				return fmt.Errorf("wiki answered %s: %.500s", resp.Status, body)
			}
		}
		select {
		case <-ctx.Done():
			if srv.exited() {
				return exitError(srv)
			}
			return fmt.Errorf("wait for wiki: %w", ctx.Err())
		case <-srv.done:
		case <-time.After(15 * time.Millisecond):
		}
	}
}

// exitError describes a server that exited before it was ready.
func exitError(srv *server) error {
	if srv.err == nil {
		return errors.New("php server exited")
	}
	return fmt.Errorf("php server exited: %w", srv.err)
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(b), n)
}

// stop kills the wiki's PHP processes and waits for them.
func (w *Wiki) stop() {
	if w.srv != nil {
		w.srv.stop()
	}
}

// Maintenance runs a MediaWiki maintenance script (a file name under
// maintenance/, e.g. "runJobs.php") on this wiki and returns its output.
// Scripts run without the web server's APCu cache: a change a script makes
// behind MediaWiki's caches may not be seen by the web server at once.
func (w *Wiki) Maintenance(script string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	argv := append(w.inst.scriptFlags(), filepath.Join(w.inst.mwDir, "maintenance", script))
	argv = append(argv, args...)
	env := []string{"MW_CONFIG_FILE=" + w.settings, "MW_INSTALL_PATH=" + w.inst.mwDir}
	out, err := runPHP(ctx, w.inst.php, argv, env, w.Dir)
	if err != nil {
		return out, fmt.Errorf("%s on %s: %w", script, w.ID, err)
	}
	return out, nil
}

// CreateUser creates an account with createAndPromote.php and puts it in
// groups ("bot", "sysop", "bureaucrat", "interface-admin" or any other
// name). An existing account gets the password and the groups added, so a
// test may run twice against the same wiki.
func (w *Wiki) CreateUser(name, password string, groups ...string) error {
	args := []string{"--force"}
	var custom []string
	for _, g := range groups {
		switch g {
		case "bot", "sysop", "bureaucrat", "interface-admin":
			args = append(args, "--"+g)
		default:
			custom = append(custom, g)
		}
	}
	if len(custom) > 0 {
		args = append(args, "--custom-groups", strings.Join(custom, ","))
	}
	args = append(args, name, password)
	if _, err := w.Maintenance("createAndPromote.php", args...); err != nil {
		return fmt.Errorf("create user %q: %w", name, err)
	}
	return nil
}

// CreateBot creates an account in the bot group and a bot password for it
// with application id BotAppID and BotGrants, and returns the login name
// (NAME@courier) and the bot password (32 characters of 0-9 and a-w, the
// only form MediaWiki accepts). A bot password cannot be made twice for one
// account: a second call for the same name fails.
func (w *Wiki) CreateBot(name string) (login, password string, err error) {
	password = randomBotPassword()
	login, err = w.CreateBotWithPassword(name, password)
	return login, password, err
}

// CreateBotWithPassword is CreateBot with a bot password of the caller's,
// which must be 32 characters of 0-9 and a-w: the same password on every
// wiki of an Env stands for one login on a farm, as Wikimedia's is.
func (w *Wiki) CreateBotWithPassword(name, password string) (login string, err error) {
	if err := w.CreateUser(name, "main-"+randomHex(16), "bot"); err != nil {
		return "", err
	}
	args := []string{"--appid", BotAppID, "--grants", BotGrants, name, password}
	if _, err := w.Maintenance("createBotPassword.php", args...); err != nil {
		return "", fmt.Errorf("create bot password for %q: %w", name, err)
	}
	return name + "@" + BotAppID, nil
}

// randomBotPassword returns 32 random characters of botPasswordChars.
func randomBotPassword() string {
	raw := randomHex(32)
	b := make([]byte, 32)
	for i := range b {
		n, _ := strconv.ParseUint(raw[2*i:2*i+2], 16, 8)
		b[i] = botPasswordChars[int(n)%len(botPasswordChars)]
	}
	return string(b)
}

// Admin returns a session logged in as AdminName, made on first use.
func (w *Wiki) Admin() (*Session, error) {
	w.adminMu.Lock()
	defer w.adminMu.Unlock()
	if w.admin != nil {
		return w.admin, nil
	}
	s, err := NewSession(w.API, AdminName, AdminPassword)
	if err != nil {
		return nil, err
	}
	w.admin = s
	return s, nil
}

// Session logs in to this wiki's API as user (a bot password's NAME@appid
// or a main account) and returns the session.
func (w *Wiki) Session(user, password string) (*Session, error) {
	return NewSession(w.API, user, password)
}

// SetGroups adds user to the groups add and removes them from remove, with
// action=userrights as the admin, so the change is logged (and on the
// stream) and seen by the web server at once.
func (w *Wiki) SetGroups(user string, add, remove []string) error {
	admin, err := w.Admin()
	if err != nil {
		return err
	}
	token, err := admin.Token("userrights")
	if err != nil {
		return err
	}
	params := map[string]string{
		"action": "userrights", "user": user, "reason": "wikitest", "token": token,
	}
	if len(add) > 0 {
		params["add"] = strings.Join(add, "|")
	}
	if len(remove) > 0 {
		params["remove"] = strings.Join(remove, "|")
	}
	if _, err := admin.Post(values(params)); err != nil {
		return fmt.Errorf("set groups of %q: %w", user, err)
	}
	return nil
}

// RunJobs runs every queued job with runJobs.php. Jobs that API writes
// queue are already run before their answer (see the router); this is for
// the rest, such as link updates of pages that transclude an edited template
// when more were queued than one request runs.
func (w *Wiki) RunJobs() error {
	_, err := w.Maintenance("runJobs.php")
	return err
}

// SetReadOnly puts the wiki in read-only mode with reason, or takes it out
// with "": MediaWiki itself then refuses writes with readonly.
func (w *Wiki) SetReadOnly(reason string) error {
	return w.setSwitch("switch-readonly", reason, reason != "")
}

// SetLag makes MediaWiki report a replication lag of seconds, so that every
// API request with a smaller maxlag is refused with maxlag, by MediaWiki
// itself; 0 turns it off.
func (w *Wiki) SetLag(seconds float64) error {
	return w.setSwitch("switch-lag", strconv.FormatFloat(seconds, 'f', -1, 64), seconds > 0)
}

// SetRateLimited makes every rate-limited action (edit, move, ...) of every
// user, bots included, fail with ratelimited while on.
func (w *Wiki) SetRateLimited(on bool) error {
	return w.setSwitch("switch-ratelimited", "on", on)
}

// setSwitch writes or removes one of the files the settings check per request.
func (w *Wiki) setSwitch(name, content string, on bool) error {
	path := filepath.Join(w.Dir, name)
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clear %s: %w", name, err)
		}
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}
