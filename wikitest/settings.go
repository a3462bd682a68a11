package wikitest

import (
	"fmt"
	"strings"
)

// settingsRevision changes whenever the generated settings change in a way
// that affects what the installer or the localisation cache produce; it is
// part of the template cache key.
const settingsRevision = "3"

// siteConfig is what one generated LocalSettings.php needs to know.
type siteConfig struct {
	mwDir      string   // MediaWiki's installation directory
	dataDir    string   // the wiki's own directory: SQLite files, logs, switches
	l10nDir    string   // the localisation cache, shared read-only by every wiki
	dbName     string   // the wiki ID
	siteName   string   // $wgSitename; also names the project namespace
	server     string   // http://127.0.0.1:PORT
	secretKey  string   // $wgSecretKey
	udpFeed    string   // host:port of the recent-changes bridge; "" for none
	extensions []string // wfLoadExtension() names
	extra      string   // PHP appended at the end (Options.Settings)
	debugLog   bool     // write $wgDebugLogFile (noisy)
}

// phpString quotes s as a single-quoted PHP string literal.
func phpString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s + "'"
}

// localSettings renders a LocalSettings.php for one wiki. The installer's own
// LocalSettings.php is thrown away: this one is written on every start, so
// ports, feeds and switches can differ from run to run while the SQLite files
// come from one cached install.
func localSettings(c siteConfig) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("<?php")
	p("// Written by courier/wikitest on every start; edits are lost.")
	p("if ( !defined( 'MEDIAWIKI' ) ) { exit; }")
	p("")
	p("$wgSitename = %s;", phpString(c.siteName))
	p("$wgServer = %s;", phpString(c.server))
	p("$wgCanonicalServer = $wgServer;")
	p("$wgScriptPath = '';")
	p("$wgResourceBasePath = $wgScriptPath;")
	p("$wgArticlePath = '/index.php/$1';")
	p("$wgUsePathInfo = true;")
	p("$wgLanguageCode = 'en';")
	p("$wgLocaltimezone = 'UTC';")
	p("$wgSecretKey = %s;", phpString(c.secretKey))
	p("$wgAuthenticationTokenVersion = '1';")
	p("$wgUpgradeKey = false;")
	p("")

	// SQLite, with the job queue in a file of its own as the installer sets
	// it up, so job runs do not hold the main file's write lock. MediaWiki
	// already begins the transactions of POSTs and scripts IMMEDIATE on
	// SQLite, so concurrent writers queue up instead of failing; with the
	// files in WAL mode (see installTemplate) readers never wait for them.
	p("$wgDBtype = 'sqlite';")
	p("$wgDBname = %s;", phpString(c.dbName))
	p("$wgDBserver = '';")
	p("$wgDBuser = '';")
	p("$wgDBpassword = '';")
	p("$wgSQLiteDataDir = %s;", phpString(c.dataDir))
	// MediaWiki adds dbDirectory and the per-method trxMode to this entry.
	// synchronous=NORMAL is safe in WAL mode except against power loss,
	// which a test wiki does not need to survive.
	p("$wgDBservers = [ [")
	p("\t'host' => '', 'dbname' => $wgDBname, 'user' => '', 'password' => '',")
	p("\t'type' => 'sqlite', 'load' => 1, 'flags' => DBO_DEFAULT,")
	p("\t'variables' => [ 'synchronous' => 'NORMAL' ],")
	p("] ];")
	p("$wgJobTypeConf['default'] = [")
	p("\t'class' => 'JobQueueDB', 'claimTTL' => 3600,")
	p("\t'server' => [ 'type' => 'sqlite', 'dbname' => \"{$wgDBname}_jobqueue\",")
	p("\t\t'tablePrefix' => '', 'dbDirectory' => $wgSQLiteDataDir,")
	p("\t\t'variables' => [ 'synchronous' => 'NORMAL' ],")
	p("\t\t'trxMode' => 'IMMEDIATE', 'flags' => 0 ],")
	p("];")
	p("$wgObjectCaches[CACHE_DB] = [")
	p("\t'class' => SqlBagOStuff::class, 'loggroup' => 'SQLBagOStuff',")
	p("\t'server' => [ 'type' => 'sqlite', 'dbname' => 'wikicache', 'tablePrefix' => '',")
	p("\t\t'dbDirectory' => $wgSQLiteDataDir, 'trxMode' => 'IMMEDIATE', 'flags' => 0 ],")
	p("];")
	p("")

	// APCu is shared by the built-in server's forked workers, so sessions,
	// rate-limit counters and the parser cache are consistent between
	// requests. Maintenance scripts run without it (apc.enable_cli is off
	// for them), so anything that must be seen by the web server at once is
	// done through the API instead (see Wiki.SetGroups).
	p("$wgMainCacheType = CACHE_ACCEL;")
	p("$wgSessionCacheType = CACHE_ACCEL;")
	p("$wgMessageCacheType = CACHE_ACCEL;")
	p("$wgParserCacheType = CACHE_ACCEL;")
	p("$wgCacheDirectory = %s;", phpString(c.dataDir+"/cache"))
	p("$wgLocalisationCacheConf['store'] = 'array';")
	p("$wgLocalisationCacheConf['storeDirectory'] = %s;", phpString(c.l10nDir))
	p("$wgLocalisationCacheConf['manualRecache'] = true;")
	p("")

	p("$wgEnableEmail = false;")
	p("$wgEnableUploads = false;")
	p("$wgUseInstantCommons = false;")
	p("$wgPingback = false;")
	p("$wgDiff3 = '';")
	p("$wgShowExceptionDetails = true;")
	p("$wgShowDBErrorBacktrace = true;")
	p("$wgDebugLogGroups['exception'] = %s;", phpString(c.dataDir+"/exception.log"))
	p("$wgDebugLogGroups['error'] = %s;", phpString(c.dataDir+"/exception.log"))
	if c.debugLog {
		p("$wgDebugLogFile = %s;", phpString(c.dataDir+"/debug.log"))
	}
	p("$wgDefaultSkin = 'vector';")
	p("wfLoadSkin( 'Vector' );")
	for _, ext := range c.extensions {
		p("wfLoadExtension( %s );", phpString(ext))
	}
	p("")

	// Every change, bots included, goes to the bridge as one JSON datagram.
	if c.udpFeed != "" {
		p("$wgRCFeeds['wikitest'] = [")
		p("\t'formatter' => 'JSONRCFeedFormatter',")
		p("\t'uri' => %s,", phpString("udp://"+c.udpFeed))
		p("\t'omit_bots' => false,")
		p("];")
	}
	p("$wgRCWatchCategoryMembership = true;")
	p("")

	// Accounts and rights. Tests pick short passwords; the policy would
	// refuse them for sysops and bots.
	p("$wgEnableBotPasswords = true;")
	p("$wgGroupPermissions['massmessage-sender']['read'] = true;")
	p("foreach ( [ 'bureaucrat', 'sysop', 'interface-admin', 'bot' ] as $g ) {")
	p("\t$wgPasswordPolicy['policies'][$g]['MinimalPasswordLength'] = 1;")
	p("}")
	p("$wgPasswordPolicy['policies']['default']['PasswordCannotBeSubstringInUsername'] = false;")
	p("$wgPasswordPolicy['policies']['default']['PasswordCannotMatchDefaults'] = false;")
	p("$wgPasswordPolicy['policies']['default']['PasswordNotInCommonList'] = false;")
	p("")

	// Tests edit a lot as plain users; bots and sysops keep noratelimit.
	p("foreach ( [ 'edit', 'move', 'rollback', 'purge', 'linkpurge', 'changetag',")
	p("\t'stashedit' ] as $action ) {")
	p("\tforeach ( [ 'user', 'newbie', 'ip', 'anon', 'subnet' ] as $who ) {")
	p("\t\t$wgRateLimits[$action][$who] = [ 100000, 60 ];")
	p("\t}")
	p("}")
	p("")

	// Link tables are written by the edit's own request (see the router);
	// jobs (category events, links of pages that transclude an edited
	// template) run in the API write that queued them unless
	// Options.DeferJobs, and index.php views run a few more.
	p("$wgJobRunRate = 5;")
	p("$wgRunJobsAsync = false;")
	p("")

	// Switches that tests flip by writing a file (Wiki.SetReadOnly, SetLag,
	// SetRateLimited): MediaWiki itself then answers readonly, maxlag or
	// ratelimited, exactly as a real wiki would.
	p("$wgReadOnlyFile = %s;", phpString(c.dataDir+"/switch-readonly"))
	p("$wgHooks['ApiMaxLagInfo'][] = static function ( &$lagInfo ) {")
	p("\t$f = %s;", phpString(c.dataDir+"/switch-lag"))
	p("\tif ( is_file( $f ) ) {")
	p("\t\t$lagInfo['lag'] = (float)file_get_contents( $f );")
	p("\t}")
	p("};")
	p("$wgHooks['PingLimiter'][] = static function ( $user, $action, &$result ) {")
	p("\tif ( is_file( %s ) ) {", phpString(c.dataDir+"/switch-ratelimited"))
	p("\t\t$result = true;")
	p("\t\treturn false;")
	p("\t}")
	p("};")

	if c.extra != "" {
		p("")
		p("// Options.Settings")
		p("%s", c.extra)
	}
	return b.String()
}

// routerScript is the php -S router. The built-in server has no rewrite
// rules: MediaWiki's entry points (and /index.php/Title paths) go to PHP,
// anything else is a static file served by the server itself.
//
// It also holds the whole answer in an output buffer until the request is
// completely done. MediaWiki normally sends the answer first and runs its
// post-send updates (link tables, the recent-changes feed) afterwards; with
// the buffer a client that has an edit's answer also has its side effects.
// Unless deferJobs, jobs that an API write queued are run before the answer
// goes out as well, because api.php, unlike index.php, never runs jobs.
func routerScript(mwDir string, deferJobs bool) string {
	runJobs := "true"
	if deferJobs {
		runJobs = "false"
	}
	return `<?php
// Written by courier/wikitest: the php -S router for a test wiki.
$wikitestPath = parse_url( $_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH ) ?: '/';
$wikitestDir = ` + phpString(mwDir) + `;
if ( $wikitestPath === '/' ) {
	$wikitestEntry = 'index.php';
} elseif ( preg_match( '#^/([A-Za-z0-9_]+\.php)(/|$)#', $wikitestPath, $m )
	&& is_file( "$wikitestDir/{$m[1]}" )
) {
	$wikitestEntry = $m[1];
} else {
	return false;
}
$_SERVER['SCRIPT_NAME'] = "/$wikitestEntry";
$_SERVER['PHP_SELF'] = "/$wikitestEntry";
$_SERVER['SCRIPT_FILENAME'] = "$wikitestDir/$wikitestEntry";
chdir( $wikitestDir );
ob_start();
require "$wikitestDir/$wikitestEntry";
if ( ` + runJobs + ` && $wikitestEntry === 'api.php'
	&& ( $_SERVER['REQUEST_METHOD'] ?? '' ) === 'POST'
) {
	ob_start();
	try {
		$services = MediaWiki\MediaWikiServices::getInstance();
		$services->getJobRunner()->run( [ 'maxJobs' => 20, 'maxTime' => 20 ] );
		$services->getDBLoadBalancerFactory()->commitPrimaryChanges( 'wikitest-router' );
	} catch ( Throwable $e ) {
		MWExceptionHandler::logException( $e );
	}
	ob_end_clean();
}
ob_end_flush();
`
}
