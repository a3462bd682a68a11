package wikitest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// aptPackages is what a Debian machine needs for these wikis; error messages
// name it so that a failing test says how to fix the machine.
const aptPackages = "mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml php-apcu"

// AdminName and AdminPassword are the wikis' installer account, a member of
// sysop, bureaucrat and interface-admin. Wiki.Admin logs in with them.
const (
	AdminName     = "Admin"
	AdminPassword = "wikitest-admin-password"
)

// templateDB is the database name of the cached install; each wiki gets a
// copy of its SQLite files under its own ID.
const templateDB = "wikitest"

// defaultExtensions are loaded on every wiki: real wikis have them and
// messages use {{#if:}} and friends.
var defaultExtensions = []string{"ParserFunctions"}

// phpModules maps the PHP modules the wikis need to the Debian package that
// brings each.
var phpModules = []struct{ module, pkg string }{
	{"pdo_sqlite", "php-sqlite3"},
	{"intl", "php-intl"},
	{"mbstring", "php-mbstring"},
	{"dom", "php-xml"},
	{"apcu", "php-apcu"},
	{"sockets", "php-cli"},
}

// installation is the MediaWiki and PHP found on this machine.
type installation struct {
	mwDir   string // MediaWiki's code, read-only
	php     string // the php binary
	version string // MW_VERSION, e.g. "1.39.17"
	opcache string // opcache.file_cache directory, shared by every PHP we run; "" for none
	// blacklist is an opcache.blacklist_filename that keeps the files
	// written per run (settings, router) out of opcache and so out of the
	// shared file cache, which would otherwise grow with every run.
	blacklist string
}

// scriptFlags are the php flags for maintenance scripts: opcache with a
// file cache, so a script does not compile MediaWiki anew each run.
func (inst installation) scriptFlags() []string {
	if inst.opcache == "" {
		return nil
	}
	return append([]string{"-d", "opcache.enable_cli=1"}, inst.cacheFlags()...)
}

// cacheFlags point opcache at the shared file cache and the blacklist.
func (inst installation) cacheFlags() []string {
	var flags []string
	if inst.opcache != "" {
		flags = append(flags, "-d", "opcache.file_cache="+inst.opcache)
	}
	if inst.blacklist != "" {
		flags = append(flags, "-d", "opcache.blacklist_filename="+inst.blacklist)
	}
	return flags
}

var mwVersionRE = regexp.MustCompile(`define\(\s*'MW_VERSION',\s*'([^']+)'`)

// findInstallation locates MediaWiki (MW_INSTALL_PATH, else Debian's
// /usr/share/mediawiki) and a PHP with every module the wikis need.
func findInstallation(ctx context.Context) (installation, error) {
	var inst installation
	inst.mwDir = os.Getenv("MW_INSTALL_PATH")
	if inst.mwDir == "" {
		inst.mwDir = "/usr/share/mediawiki"
	}
	abs, err := filepath.Abs(inst.mwDir)
	if err != nil {
		return inst, fmt.Errorf("find MediaWiki: %w", err)
	}
	inst.mwDir = abs
	defines, err := os.ReadFile(filepath.Join(inst.mwDir, "includes", "Defines.php"))
	if err != nil {
		return inst, fmt.Errorf("no MediaWiki in %s (set MW_INSTALL_PATH, or apt-get install %s): %w",
			inst.mwDir, aptPackages, err)
	}
	m := mwVersionRE.FindSubmatch(defines)
	if m == nil {
		return inst, fmt.Errorf("read MediaWiki version in %s: no MW_VERSION", inst.mwDir)
	}
	inst.version = string(m[1])

	inst.php, err = exec.LookPath("php")
	if err != nil {
		return inst, fmt.Errorf("no php on PATH (apt-get install %s): %w", aptPackages, err)
	}
	out, err := exec.CommandContext(ctx, inst.php, "-m").Output()
	if err != nil {
		return inst, fmt.Errorf("list PHP modules: %w", err)
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		have[strings.ToLower(strings.TrimSpace(line))] = true
	}
	var missing []string
	for _, pm := range phpModules {
		if !have[pm.module] {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", pm.module, pm.pkg))
		}
	}
	if len(missing) > 0 {
		return inst, fmt.Errorf("PHP lacks modules: %s", strings.Join(missing, ", "))
	}
	return inst, nil
}

// cacheRoot is where installed templates are kept between runs: $WIKITEST_CACHE,
// else courier-wikitest in the user's cache directory.
func cacheRoot() string {
	if dir := os.Getenv("WIKITEST_CACHE"); dir != "" {
		return dir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "courier-wikitest")
	}
	return filepath.Join(os.TempDir(), "courier-wikitest")
}

// template is one installed wiki kept as SQLite files, plus the prebuilt
// localisation cache that every wiki made from it shares.
type template struct {
	dir  string
	cold bool // installed by this call, not found in the cache
}

// templateFiles are the template's SQLite files, each named after the
// database they belong to; copies are renamed for the wiki's ID.
var templateFiles = []string{
	templateDB + ".sqlite",
	templateDB + "_jobqueue.sqlite",
	"wikicache.sqlite",
}

// ensureTemplate returns the cached install for this MediaWiki and these
// extensions, running the installer first when there is none. Concurrent
// test binaries may both install; the first rename wins and the other's copy
// is dropped.
func ensureTemplate(ctx context.Context, inst installation, root string,
	exts []string) (template, error) {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		inst.version, inst.mwDir, settingsRevision, strings.Join(exts, ","),
	}, "\n")))
	dir := filepath.Join(root, "mw"+inst.version+"-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return template{dir: dir}, nil
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return template{}, fmt.Errorf("make template cache: %w", err)
	}
	tmp, err := os.MkdirTemp(root, "install-*")
	if err != nil {
		return template{}, fmt.Errorf("make template directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := installTemplate(ctx, inst, tmp, exts); err != nil {
		return template{}, err
	}
	ready := []byte(inst.version + "\n")
	if err := os.WriteFile(filepath.Join(tmp, "ready"), ready, 0o644); err != nil {
		return template{}, fmt.Errorf("mark template ready: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "ready")); statErr == nil {
			return template{dir: dir}, nil
		}
		return template{}, fmt.Errorf("store template: %w", err)
	}
	return template{dir: dir, cold: true}, nil
}

// installTemplate runs MediaWiki's installer into dir, switches the SQLite
// files to WAL mode and builds the English localisation cache.
func installTemplate(ctx context.Context, inst installation, dir string, exts []string) error {
	conf := filepath.Join(dir, "LocalSettings.php")
	env := []string{"MW_CONFIG_FILE=" + conf, "MW_INSTALL_PATH=" + inst.mwDir}
	args := []string{
		filepath.Join(inst.mwDir, "maintenance", "install.php"),
		"--dbtype", "sqlite", "--dbpath", dir, "--dbname", templateDB,
		"--server", "http://127.0.0.1", "--scriptpath", "",
		"--confpath", dir, "--lang", "en", "--pass", AdminPassword,
		"--skins", "Vector", "--extensions", strings.Join(exts, ","),
		"Wikitest", AdminName,
	}
	args = append(inst.scriptFlags(), args...)
	if _, err := runPHP(ctx, inst.php, args, env, dir); err != nil {
		return fmt.Errorf("install MediaWiki: %w", err)
	}

	// WAL is a property of the file, so the copies inherit it.
	wal := `foreach (array_slice($argv, 1) as $f) {
		$db = new PDO("sqlite:$f");
		$db->query("PRAGMA journal_mode=WAL")->fetchColumn();
	}`
	walArgs := []string{"-r", wal, "--"}
	for _, f := range templateFiles {
		walArgs = append(walArgs, filepath.Join(dir, f))
	}
	if _, err := runPHP(ctx, inst.php, walArgs, nil, dir); err != nil {
		return fmt.Errorf("switch template to WAL: %w", err)
	}

	l10n := filepath.Join(dir, "l10n")
	if err := os.Mkdir(l10n, 0o755); err != nil {
		return fmt.Errorf("make l10n directory: %w", err)
	}
	settings := localSettings(siteConfig{
		mwDir: inst.mwDir, dataDir: dir, l10nDir: l10n, dbName: templateDB,
		siteName: "Wikitest", server: "http://127.0.0.1", secretKey: randomHex(32),
		extensions: exts,
	})
	if err := os.WriteFile(conf, []byte(settings), 0o644); err != nil {
		return fmt.Errorf("write template settings: %w", err)
	}
	args = []string{
		filepath.Join(inst.mwDir, "maintenance", "rebuildLocalisationCache.php"),
		"--lang", "en", "--force", "--conf", conf,
	}
	args = append(inst.scriptFlags(), args...)
	if _, err := runPHP(ctx, inst.php, args, env, dir); err != nil {
		return fmt.Errorf("build localisation cache: %w", err)
	}
	return nil
}

// copyTemplate copies the template's SQLite files into dataDir, named for
// the wiki ID.
func copyTemplate(t template, dataDir, id string) error {
	for _, name := range templateFiles {
		dst := name
		if strings.HasPrefix(name, templateDB) {
			dst = id + strings.TrimPrefix(name, templateDB)
		}
		if err := copyFile(filepath.Join(t.dir, name), filepath.Join(dataDir, dst)); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst, which must not exist yet.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open template file: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("copy template: %s exists already", dst)
		}
		return fmt.Errorf("create wiki file: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close wiki file: %w", cerr)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy template file: %w", err)
	}
	return nil
}
