package watcher_test

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The replay benchmark reads a recorded-like recent-changes stream: events
// shaped as Wikimedia's EventStreams sends them (about 1 KiB, of 300 wikis
// in a Zipf-like mix, titles with escapes, ids of two topics), rendered by a
// server in a child process so that the client under test has its core to
// itself. Event i is the same in every replay, so the raw library and the
// watcher read the same bytes.

// replayServeEnv makes the test binary serve replays instead of testing.
const replayServeEnv = "WATCHER_REPLAY_SERVE"

// replayBase is the time of the first replayed event.
var replayBase = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// replayWatched are the pages the benchmark's watcher watches, on Meta.
var replayWatched = []string{
	"Meta:Message delivery/Requests", "Meta:Message delivery/Senders",
	"User:Courier/Shutoff", "Meta:Message delivery/Lists/Tech ambassadors",
}

// serveReplays serves replays on a free port of 127.0.0.1, prints the
// address and serves until its standard input closes (the parent is gone).
func serveReplays() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	replayCorpus()
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	_ = http.Serve(ln, http.HandlerFunc(serveReplay))
}

// serveReplay writes events from (query "from") to to (query "to") and
// ends the response.
func serveReplay(w http.ResponseWriter, r *http.Request) {
	from, _ := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	to, _ := strconv.ParseInt(r.URL.Query().Get("to"), 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	bw := bufio.NewWriterSize(w, 256<<10)
	c := replayCorpus()
	var buf []byte
	for i := from; i < to; i++ {
		f := c.frames[i%int64(len(c.frames))]
		if i >= int64(len(c.frames)) && c.watchedWiki[i%int64(len(c.frames))] {
			buf = c.gen.frame(buf[:0], i%int64(len(c.frames)), i)
			f = buf
		}
		if _, err := bw.Write(f); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

// corpus is the pre-rendered replay: rendering as it is served would make
// the server slower than the client it is to measure.
type corpus struct {
	gen         *generator
	frames      [][]byte
	watchedWiki []bool // the frame is an event of Meta
}

// corpusSize is how many distinct events the server renders. A longer
// replay goes round them again: the events of Meta rendered anew, with new
// revision ids, so that the watched pages keep changing; the others as
// they were.
const corpusSize = 300000

var (
	corpusOnce sync.Once
	theCorpus  *corpus
)

func replayCorpus() *corpus {
	corpusOnce.Do(func() {
		c := &corpus{gen: newGenerator()}
		for i := range int64(corpusSize) {
			f := c.gen.frame(nil, i, i)
			c.frames = append(c.frames, f)
			c.watchedWiki = append(c.watchedWiki, bytes.Contains(f, []byte(`"wiki":"metawiki"`)))
		}
		theCorpus = c
	})
	return theCorpus
}

// generator renders replay events.
type generator struct {
	wikis   []replayWiki
	cum     []float64 // cumulative weights of wikis
	words   []string
	users   []string
	escaped []string // title pieces written with JSON escapes
}

type replayWiki struct {
	id, domain string
	weight     float64
}

func newGenerator() *generator {
	rng := rand.New(rand.NewPCG(1, 2))
	g := &generator{}
	big := []replayWiki{
		{"wikidatawiki", "www.wikidata.org", 30}, {"commonswiki", "commons.wikimedia.org", 15},
		{"enwiki", "en.wikipedia.org", 15}, {"dewiki", "de.wikipedia.org", 3},
		{"frwiki", "fr.wikipedia.org", 3}, {"metawiki", "meta.wikimedia.org", 1},
	}
	g.wikis = append(g.wikis, big...)
	langs := []string{"es", "it", "ru", "ja", "zh", "pt", "pl", "nl", "sv", "uk", "ar", "fa"}
	projects := []struct{ db, host string }{{"wiki", "wikipedia"}, {"wiktionary", "wiktionary"},
		{"wikisource", "wikisource"}, {"wikibooks", "wikibooks"}, {"wikivoyage", "wikivoyage"}}
	for i := 0; len(g.wikis) < 300; i++ {
		lang := langs[i%len(langs)] + strings.Repeat("x", i/len(langs)/len(projects))
		p := projects[(i/len(langs))%len(projects)]
		g.wikis = append(g.wikis, replayWiki{lang + p.db, lang + "." + p.host + ".org",
			8 / math.Pow(float64(i+2), 0.9)})
	}
	total := 0.0
	for _, w := range g.wikis {
		total += w.weight
		g.cum = append(g.cum, total)
	}
	for i := range g.cum {
		g.cum[i] /= total
	}
	for range 400 {
		g.words = append(g.words, randomWord(rng))
	}
	for range 200 {
		g.users = append(g.users, strings.ToUpper(randomWord(rng)[:1])+randomWord(rng))
	}
	g.escaped = []string{`Caf\u00e9`, `Z\u00fcrich`, `\u6771\u4eac`, `AC\/DC`, `A\/B testing`,
		`Fran\u00e7ois`, `\u041c\u043e\u0441\u043a\u0432\u0430`}
	return g
}

func randomWord(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 3+rng.IntN(8))
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// frame appends the SSE frame of event i to b: its wiki, page and words
// drawn by seed, its ids and time by i.
func (g *generator) frame(b []byte, seed, i int64) []byte {
	ms := replayBase.Add(time.Duration(i) * time.Millisecond).UnixMilli()
	b = append(b, "event: message\nid: [{\"topic\":\"eqiad.mediawiki.recentchange\","+
		"\"partition\":0,\"timestamp\":"...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, "},{\"topic\":\"codfw.mediawiki.recentchange\",\"partition\":0,"+
		"\"offset\":-1}]\ndata: "...)
	b = g.data(b, seed, i)
	return append(b, "\n\n"...)
}

// data appends the JSON of event i to b, drawn by seed as frame does.
func (g *generator) data(b []byte, seed, i int64) []byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	w := g.wikis[g.pick(rng.Float64())]
	return g.event(b, rng, w, i, replayBase.Add(time.Duration(i)*time.Millisecond))
}

// pick returns the index of the wiki whose cumulative weight covers x.
func (g *generator) pick(x float64) int {
	lo, hi := 0, len(g.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.cum[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// event appends the JSON of event i of wiki w to b, in the member order
// of Wikimedia's recentchange events.
func (g *generator) event(b []byte, rng *rand.Rand, w replayWiki, i int64, at time.Time) []byte {
	title, ns := g.title(rng, w)
	slash := rng.IntN(4) == 0 // a quarter written as PHP does, with \/
	esc := func(s string) string {
		if slash {
			return strings.ReplaceAll(s, "/", `\/`)
		}
		return s
	}
	url := "https://" + w.domain
	page := esc(url + "/wiki/" + strings.ReplaceAll(title, " ", "_"))
	b = g.meta(b, rng, w, page, i, at)
	typ := "edit"
	if rng.IntN(10) == 0 {
		typ = "new"
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, 2000000000+i, 10)
	b = append(b, `,"type":"`+typ+`","namespace":`+strconv.Itoa(ns)+
		`,"title":"`+esc(title)+`","title_url":"`+page+`","comment":"`...)
	comment := g.sentence(rng, 5+rng.IntN(40))
	b = append(b, comment...)
	b = append(b, `","timestamp":`...)
	b = strconv.AppendInt(b, at.Unix(), 10)
	user := g.users[rng.IntN(len(g.users))]
	b = append(b, `,"user":"`+user+`","bot":`+strconv.FormatBool(rng.IntN(5) == 0)+
		`,"notify_url":"`+esc(url+"/w/index.php?diff=")...)
	rev := 1000000 + i
	b = strconv.AppendInt(b, rev, 10)
	b = append(b, `&oldid=`...)
	b = strconv.AppendInt(b, rev-1, 10)
	b = append(b, `","minor":false,"patrolled":true,"length":{"old":`+
		strconv.Itoa(rng.IntN(90000))+`,"new":`+strconv.Itoa(rng.IntN(90000))+
		`},"revision":{"old":`...)
	if typ == "new" {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, rev-1, 10)
	}
	b = append(b, `,"new":`...)
	b = strconv.AppendInt(b, rev, 10)
	b = append(b, `},"server_url":"`+esc(url)+`","server_name":"`+w.domain+
		`","server_script_path":"`+esc("/w")+`","wiki":"`+w.id+`","parsedcomment":"`...)
	b = append(b, comment...)
	return append(b, `"}`...)
}

// meta appends the start of an event: its schema and meta block.
func (g *generator) meta(b []byte, rng *rand.Rand, w replayWiki, page string, i int64,
	at time.Time) []byte {
	b = append(b, `{"$schema":"/mediawiki/recentchange/1.0.0","meta":{"uri":"`+page+
		`","request_id":"`...)
	b = appendUUID(b, rng)
	b = append(b, `","id":"`...)
	b = appendUUID(b, rng)
	b = append(b, `","dt":"`...)
	b = at.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","domain":"`+w.domain+`","stream":"mediawiki.recentchange",`+
		`"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":`...)
	b = strconv.AppendInt(b, 5000000000+i, 10)
	return append(b, '}')
}

// title returns a page title of w and its namespace; on Meta one event in
// twenty is of a watched page.
func (g *generator) title(rng *rand.Rand, w replayWiki) (string, int) {
	if w.id == "metawiki" && rng.IntN(20) == 0 {
		t := replayWatched[rng.IntN(len(replayWatched))]
		if strings.HasPrefix(t, "User:") {
			return t, 2
		}
		return t, 4
	}
	var t string
	if rng.IntN(8) == 0 {
		t = g.escaped[rng.IntN(len(g.escaped))] + " " + g.words[rng.IntN(len(g.words))]
	} else {
		t = strings.ToUpper(g.words[rng.IntN(len(g.words))][:1]) +
			g.sentence(rng, 1+rng.IntN(4))[1:]
	}
	switch n := rng.IntN(10); {
	case n < 6:
		return t, 0
	case n < 8:
		return "Talk:" + t, 1
	default:
		return "User:" + t + "/sandbox", 2
	}
}

// sentence returns n random words joined by spaces.
func (g *generator) sentence(rng *rand.Rand, n int) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(g.words[rng.IntN(len(g.words))])
	}
	return sb.String()
}

func appendUUID(b []byte, rng *rand.Rand) []byte {
	const hex = "0123456789abcdef"
	for i := range 36 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			b = append(b, '-')
			continue
		}
		b = append(b, hex[rng.IntN(16)])
	}
	return b
}
