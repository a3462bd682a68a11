package wiki

import (
	"reflect"
	"testing"
)

// TestDecodeMatrix reads a sitematrix answer shaped like Wikimedia's, in
// both formatversions' flag forms, and keeps only open, public wikis.
func TestDecodeMatrix(t *testing.T) {
	body := `{"sitematrix":{"count":5,
	"0":{"code":"de","name":"Deutsch","site":[
		{"url":"https://de.wikipedia.org","dbname":"dewiki","code":"wiki"},
		{"url":"https://de.wikibooks.org","dbname":"dewikibooks","code":"wikibooks","closed":""}]},
	"1":{"code":"aa","site":[{"url":"https://aa.wikipedia.org","dbname":"aawiki","closed":true}]},
	"specials":[
		{"url":"https://meta.wikimedia.org/","dbname":"metawiki","code":"meta"},
		{"url":"https://office.wikimedia.org","dbname":"officewiki","private":true},
		{"url":"https://x.wikimedia.org","dbname":"xwiki","fishbowl":""},
		{"url":"https://y.wikimedia.org","dbname":"ywiki","closed":false}]}}`
	got, err := decodeMatrix([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []MatrixSite{
		{DBName: "dewiki", URL: "https://de.wikipedia.org", Domain: "de.wikipedia.org"},
		{DBName: "metawiki", URL: "https://meta.wikimedia.org", Domain: "meta.wikimedia.org"},
		{DBName: "ywiki", URL: "https://y.wikimedia.org", Domain: "y.wikimedia.org"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeMatrix =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := decodeMatrix([]byte(`{"sitematrix":{"0":{"site":"bad"}}}`)); err == nil {
		t.Error("a malformed answer decoded")
	}
}
