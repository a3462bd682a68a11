package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"courier/store"
	"courier/wiki"
)

// ErrNotFinished means WriteLog was asked to log a request whose targets
// do not all have their outcome yet.
var ErrNotFinished = errors.New("request has targets without an outcome")

// logTries bounds how often a log edit is re-read and re-applied after an
// edit conflict with someone else's edit.
const logTries = 5

// logTableClass marks the log's table, so rows go into Courier's table
// and not into one a human added to the page.
const logTableClass = "wikitable sortable courier-log"

// WriteLog writes the log of a finished request on its home wiki: first
// the details page (<log>/<id>) with every target's outcome, then one row
// in the log's table. Both are idempotent: the details page is created
// only if it does not exist, and the row carries the request id, so a run
// after a crash finds what the first wrote and adds nothing. The row goes
// to the log page, or, once that would grow past log_max_bytes, to a page
// of the month the request finished (<log>/2026-12, then <log>/2026-12/2).
func (d *Deliverer) WriteLog(ctx context.Context, job Job) error {
	ts, err := d.opts.Store.Targets(ctx, job.ID)
	if err != nil {
		return fmt.Errorf("write log of request %d: %w", job.ID, err)
	}
	c := countStates(ts)
	if c.Done() != c.Total() {
		return fmt.Errorf("write log of request %d: %w", job.ID, ErrNotFinished)
	}
	home := d.lanes[job.HomeWiki]
	if home == nil {
		return fmt.Errorf("write log of request %d: home wiki %q not configured",
			job.ID, job.HomeWiki)
	}
	if err := home.prepare(ctx); err != nil {
		return fmt.Errorf("write log of request %d: %w", job.ID, err)
	}

	finished := finishTime(ts)
	if err := d.writeDetails(ctx, home, &job, ts, c, finished); err != nil {
		return err
	}
	row := d.logRow(&job, c, finished)
	return d.writeRow(ctx, home, &job, row, finished)
}

// finishTime returns when the last target got its outcome: a time that
// stays the same however often the log is written.
func finishTime(ts []store.Target) time.Time {
	var last time.Time
	for _, t := range ts {
		if t.Updated.After(last) {
			last = t.Updated
		}
	}
	if last.IsZero() {
		last = time.Now()
	}
	return last.UTC()
}

// detailsTitle returns the title of a request's details page.
func (d *Deliverer) detailsTitle(id int64) string {
	return d.opts.Home.Log + "/" + strconv.FormatInt(id, 10)
}

// writeDetails creates the details page unless it exists already.
func (d *Deliverer) writeDetails(ctx context.Context, home *lane, job *Job,
	ts []store.Target, c store.Counts, finished time.Time) error {
	title := d.detailsTitle(job.ID)
	_, err := home.client.Edit(ctx, wiki.EditParams{
		Title:      title,
		Text:       d.detailsText(job, ts, c, finished),
		Summary:    fmt.Sprintf("Courier: outcomes of delivery request %d", job.ID),
		Bot:        home.assert() == "bot",
		Assert:     home.assert(),
		CreateOnly: true,
	})
	if wiki.Code(err) == "articleexists" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write details of request %d to %q: %w", job.ID, title, err)
	}
	d.log.Info("details page written", "wiki", home.cfg.ID, "title", title,
		"request_id", job.ID)
	return nil
}

// rowID returns the id attribute of a request's log row: it makes the row
// linkable, and finding it is how a second writer knows it is there.
func rowID(id int64) string {
	return `id="courier-request-` + strconv.FormatInt(id, 10) + `"`
}

// logRow returns a request's row of the log table.
func (d *Deliverer) logRow(job *Job, c store.Counts, finished time.Time) string {
	cells := []string{
		finished.Format("2006-01-02 15:04"),
		fmt.Sprintf("[[Special:PermanentLink/%d|%d]]", job.ID, job.ID),
		userLink(job.Requester),
		userLink(job.Approver),
		listLink(job),
		strconv.Itoa(c.Total()),
		strconv.Itoa(c.Delivered),
		strconv.Itoa(c.Skipped),
		strconv.Itoa(c.Failed),
		fmt.Sprintf("[[%s|details]]", d.detailsTitle(job.ID)),
	}
	return "|- " + rowID(job.ID) + "\n| " + strings.Join(cells, " || ") + "\n"
}

// logPage is one page of the log as read for an edit.
type logPage struct {
	title  string
	exists bool
	text   string
	base   time.Time // its latest revision's timestamp
	start  time.Time // when it was read
}

// writeRow adds row to the first page of the log with room for it,
// unless a page of the log holds it already. A conflict with another
// edit re-reads the pages and applies the row to what they hold now.
func (d *Deliverer) writeRow(ctx context.Context, home *lane, job *Job, row string,
	finished time.Time) error {
	var err error
	for try := 1; try <= logTries; try++ {
		var done bool
		done, err = d.tryWriteRow(ctx, home, job, row, finished)
		if done || err != nil {
			return err
		}
		d.log.Warn("log page changed while Courier wrote to it, re-reading",
			"wiki", home.cfg.ID, "title", d.opts.Home.Log, "request_id", job.ID, "try", try)
	}
	err = fmt.Errorf("write log row of request %d: the log kept changing under %d tries",
		job.ID, logTries)
	d.log.Error("log row not written", "wiki", home.cfg.ID, "title", d.opts.Home.Log,
		"request_id", job.ID, "error", err)
	return err
}

// tryWriteRow makes one attempt; done is false after an edit conflict.
func (d *Deliverer) tryWriteRow(ctx context.Context, home *lane, job *Job, row string,
	finished time.Time) (done bool, err error) {
	pages, err := d.readLogChain(ctx, home, finished)
	if err != nil {
		return false, err
	}
	for i, p := range pages {
		if !strings.Contains(p.text, rowID(job.ID)) {
			continue
		}
		if i > 0 {
			// A crash may have come between the row and the link to its page.
			return true, d.pointTo(ctx, home, job, pages[i-1], p.title)
		}
		return true, nil
	}

	// The first page with room takes the row; the last one read is
	// missing, or full only when the chain ran out of names.
	i := 0
	for i < len(pages)-1 && pages[i].exists &&
		len(pages[i].text)+len(row) > d.opts.Home.LogMaxBytes {
		i++
	}
	p := pages[i]
	err = d.saveRow(ctx, home, job, p, row)
	switch code := wiki.Code(err); {
	case code == "editconflict" || code == "articleexists":
		return false, nil
	case err != nil:
		return false, fmt.Errorf("write log row of request %d to %q: %w", job.ID, p.title, err)
	}
	d.log.Info("log row written", "wiki", home.cfg.ID, "title", p.title, "request_id", job.ID)
	if !p.exists && i > 0 {
		return true, d.pointTo(ctx, home, job, pages[i-1], p.title)
	}
	return true, nil
}

// maxChain bounds the pages of one month's log.
const maxChain = 50

// logChain returns the pages a request finished at t may be logged on, in
// order: the log page, its page for t's month, and that page's sequels.
func (d *Deliverer) logChain(t time.Time, n int) string {
	base := d.opts.Home.Log
	switch {
	case n == 0:
		return base
	case n == 1:
		return base + "/" + t.Format("2006-01")
	}
	return fmt.Sprintf("%s/%s/%d", base, t.Format("2006-01"), n)
}

// readLogChain reads the log's pages for t up to and including the first
// that does not exist.
func (d *Deliverer) readLogChain(ctx context.Context, home *lane, t time.Time) ([]logPage,
	error) {
	var pages []logPage
	for n := 0; n < maxChain; n++ {
		title := d.logChain(t, n)
		start := time.Now()
		rev, ok, err := home.client.PageText(ctx, title)
		if err != nil {
			return nil, fmt.Errorf("read log page %q: %w", title, err)
		}
		pages = append(pages, logPage{title: title, exists: ok, text: rev.Content,
			base: rev.Timestamp, start: start})
		if !ok {
			break
		}
	}
	return pages, nil
}

// saveRow writes row into p: into Courier's table when the page has one,
// else in a new table at its end; a page that does not exist is created.
// Nothing else of the page changes.
func (d *Deliverer) saveRow(ctx context.Context, home *lane, job *Job, p logPage,
	row string) error {
	e := wiki.EditParams{
		Title:   p.title,
		Summary: fmt.Sprintf("Courier: log delivery request %d", job.ID),
		Bot:     home.assert() == "bot",
		Assert:  home.assert(),
	}
	if p.exists {
		e.Text = insertRow(p.text, row)
		e.BaseTimestamp, e.StartTimestamp = p.base, p.start
	} else {
		e.Text = logIntro(p.title == d.opts.Home.Log) + logTable(row)
		e.CreateOnly = true
	}
	if d.beforeLogSave != nil {
		d.beforeLogSave(p.title)
	}
	_, err := home.client.Edit(ctx, e)
	return err
}

// pointTo adds a line to the previous page of the log that leads to the
// new one, once.
func (d *Deliverer) pointTo(ctx context.Context, home *lane, job *Job, prev logPage,
	next string) error {
	link := "[[" + next + "]]"
	if strings.Contains(prev.text, link) {
		return nil
	}
	_, err := home.client.Edit(ctx, wiki.EditParams{
		Title:      prev.title,
		AppendText: "\n\nLater deliveries: " + link + "\n",
		Summary:    "Courier: the log continues on " + link,
		Bot:        home.assert() == "bot",
		Assert:     home.assert(),
		NoCreate:   true,
	})
	if err != nil {
		return fmt.Errorf("link log page %q from %q: %w", next, prev.title, err)
	}
	d.log.Info("log continues on a new page", "wiki", home.cfg.ID, "title", next,
		"request_id", job.ID)
	return nil
}

// insertRow returns text with row added at the end of the last Courier
// log table, or with a new table holding row appended when it has none.
func insertRow(text, row string) string {
	lines := strings.SplitAfter(text, "\n")
	head := -1
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "{|") &&
			strings.Contains(line, logTableClass) {
			head = i
		}
	}
	if head >= 0 {
		for i := head + 1; i < len(lines); i++ {
			if strings.HasPrefix(strings.TrimSpace(lines[i]), "|}") {
				if i > 0 && !strings.HasSuffix(lines[i-1], "\n") {
					row = "\n" + row
				}
				return strings.Join(lines[:i], "") + row + strings.Join(lines[i:], "")
			}
		}
	}
	return strings.TrimRight(text, "\n") + "\n\n" + logTable(row)
}

// logIntro returns the text that opens a new page of the log.
func logIntro(main bool) string {
	if main {
		return "Deliveries made by Courier, one row a finished request, " +
			"the newest at the bottom.\n\n"
	}
	return "Deliveries made by Courier, continued from the previous page of the log.\n\n"
}

// logTable returns a new log table holding row.
func logTable(row string) string {
	return "{| class=\"" + logTableClass + "\"\n" +
		"! When (UTC) !! Request !! Requester !! Approver !! List !! Targets " +
		"!! Delivered !! Skipped !! Failed !! Details\n" + row + "|}\n"
}

// detailsText returns the details page of a request.
func (d *Deliverer) detailsText(job *Job, ts []store.Target, c store.Counts,
	finished time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Delivery request [[Special:PermanentLink/%d|%d]] from %s, approved by %s: "+
		"''%s'', to the list %s.\n\n", job.ID, job.ID, userLink(job.Requester),
		userLink(job.Approver), nowiki(job.Subject), listLink(job))
	fmt.Fprintf(&b, "Finished %s (UTC): %d targets, %d delivered, %d skipped, %d failed. "+
		"See also the [[%s|delivery log]].\n\n", finished.Format("2006-01-02 15:04"),
		c.Total(), c.Delivered, c.Skipped, c.Failed, d.opts.Home.Log)
	b.WriteString("{| class=\"wikitable sortable\"\n" +
		"! # !! Wiki !! Target !! Outcome !! Reason !! Message\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "|-\n| %d || %s || %s || %s || %s || %s\n", t.Seq, t.Wiki,
			d.pageLink(job, &t), t.State, nowiki(t.Reason), d.diffLink(job, &t))
	}
	b.WriteString("|}\n")
	return b.String()
}

// pageLink links a target's page: a wikilink on the home wiki, a URL on
// another (Courier knows wikis by their API, not by interwiki prefixes).
// Rows that name no real page are shown as text.
func (d *Deliverer) pageLink(job *Job, t *store.Target) string {
	switch t.Reason {
	case ReasonDuplicate, ReasonBadTitle, ReasonUnknownWiki:
		return nowiki(t.Title)
	}
	if t.Wiki == job.HomeWiki {
		return "[[:" + t.Title + "]]"
	}
	l := d.lanes[t.Wiki]
	if l == nil {
		return nowiki(t.Title)
	}
	q := url.Values{"title": {strings.ReplaceAll(t.Title, " ", "_")}}
	return "[" + indexURL(l.cfg.API) + "?" + q.Encode() + " " + t.Title + "]"
}

// diffLink links a delivered message's diff.
func (d *Deliverer) diffLink(job *Job, t *store.Target) string {
	if t.State != store.TargetDelivered || t.RevID == 0 {
		return ""
	}
	if t.Wiki == job.HomeWiki {
		return fmt.Sprintf("[[Special:Diff/%d|%d]]", t.RevID, t.RevID)
	}
	l := d.lanes[t.Wiki]
	if l == nil {
		return strconv.FormatInt(t.RevID, 10)
	}
	return fmt.Sprintf("[%s?diff=%d %d]", indexURL(l.cfg.API), t.RevID, t.RevID)
}

// indexURL returns the index.php next to an api.php.
func indexURL(api string) string {
	return strings.TrimSuffix(api, "api.php") + "index.php"
}

func userLink(name string) string {
	if name == "" {
		return "—"
	}
	return "[[User:" + name + "|" + name + "]]"
}

func listLink(job *Job) string {
	s := "[[:" + job.List + "]]"
	if job.ListRev > 0 {
		s += fmt.Sprintf(" ([[Special:PermanentLink/%d|oldid %d]])", job.ListRev, job.ListRev)
	}
	return s
}

// nowiki shows s as plain text.
func nowiki(s string) string {
	if s == "" {
		return ""
	}
	return "<nowiki>" + strings.ReplaceAll(s, "</nowiki>", "&lt;/nowiki>") + "</nowiki>"
}
