// Package wikitest runs real MediaWiki wikis and an EventStreams-compatible
// stream of their recent changes on 127.0.0.1, for Courier's tests,
// benchmarks and demo, and puts a fault-injecting proxy in front of a wiki's
// API when a test needs maxlag, rate limits, 5xx answers or lost answers.
//
// # Wikis
//
// Start installs MediaWiki (Debian's mediawiki package, 1.39, found in
// /usr/share/mediawiki or $MW_INSTALL_PATH) once into a cache with the
// SQLite installer and a prebuilt localisation cache, then gives every wiki
// a copy of the SQLite files and serves it with PHP's built-in server
// (PHP_CLI_SERVER_WORKERS, opcache, APCu). A warm start of two wikis and the
// stream takes a fraction of a second; the first ever, a second or two.
// Each wiki sends every change, bots' included, through $wgRCFeeds as one
// JSON datagram to the Env's bridge, which publishes it on the stream with a
// meta block (meta.domain is the wiki's Domain).
//
// On these fresh wikis the project namespace is named after the site:
// "Project:X" on the wiki with SiteName "Meta" is stored and fed as "Meta:X".
//
// An edit's answer arrives only when MediaWiki has finished everything the
// edit does (link tables, the feed datagram and, unless DeferJobs, the jobs
// it queued), so a test can check them straight away.
//
// Wiki.SetReadOnly, SetLag and SetRateLimited make MediaWiki itself refuse
// requests with readonly, maxlag and ratelimited; a Proxy answers the same
// errors, byte for byte as MediaWiki does, without the wiki seeing the
// request.
//
// # Processes
//
// Every PHP server runs in a process group under a small guard shell whose
// standard input is a pipe from the test process. Close kills the groups;
// if the test process dies instead (a panic, a timeout, SIGKILL) the pipe
// closes and the guard kills its group, so no wiki outlives its test binary.
// A temporary directory left by such a death is removed by the next Start.
//
// # Use
//
// A package's tests share one Env per test binary:
//
//	func TestMain(m *testing.M) { wikitest.Main(m) }
//
//	func TestDelivery(t *testing.T) {
//		env := wikitest.Shared(t)
//		meta := env.Wiki("metawiki")
//		login, password, err := meta.CreateBot("Courier")
//		...
//		admin, err := meta.Admin()
//		after := env.Stream.Last()
//		rev, err := admin.Edit("Project:Message delivery/Requests", text, "request")
//		change, err := env.Stream.WaitChange(ctx, after, func(c wikitest.Change) bool {
//			return c.NewRevision() == rev
//		})
//	}
//
// Shared fails the test, naming the Debian packages to install, when
// MediaWiki or PHP is missing. Titles and user names must be unique to the
// test, as the wikis live for the whole binary.
package wikitest
