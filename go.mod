module courier

go 1.26

require (
	cgt.name/pkg/go-mwclient v1.3.0 // indirect
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/antonholmquist/jason v1.0.0 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
	github.com/mrjones/oauth v0.0.0-20190623134757-126b35219450 // indirect
	github.com/r3labs/sse/v2 v2.10.0 // indirect
	golang.org/x/net v0.0.0-20191116160921-f9c825593386 // indirect
	gopkg.in/cenkalti/backoff.v1 v1.1.0 // indirect
)
