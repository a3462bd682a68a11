package deliver

import (
	"context"
	"fmt"
	"sync"

	"courier/config"
	"courier/parser"
	"courier/wiki"
)

// Namespace ids MediaWiki fixes on every wiki.
const (
	nsMain     = 0
	nsUser     = 2
	nsUserTalk = 3
	nsProject  = 4
	nsCategory = 14
)

// lane is one wiki as deliveries see it: its client, its pace, and what
// it said about itself and the bot account, read once.
type lane struct {
	cfg    config.Wiki
	client *wiki.Client
	pacer  *pacer

	// edit is held from the wait for a slot to the recorded outcome, so a
	// wiki's edits are in series even when several requests deliver.
	edit sync.Mutex

	mu    sync.Mutex // guards the fields below
	ready bool
	site  *parser.Site
	bot   bool   // the account has the bot right: assert=bot, bot=1
	user  string // the account's name
}

// prepare logs the client in if it is not yet, and reads the wiki's
// namespaces and the account's rights, once per Deliverer: three requests
// at most, whatever the number of requests delivered.
func (l *lane) prepare(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready {
		return nil
	}
	if l.client.Account() == "" {
		if err := l.client.Login(ctx); err != nil {
			return fmt.Errorf("log in to %s: %w", l.cfg.ID, err)
		}
	}
	info, err := l.client.SiteInfo(ctx)
	if err != nil {
		return fmt.Errorf("read siteinfo of %s: %w", l.cfg.ID, err)
	}
	user, err := l.client.UserInfo(ctx)
	if err != nil {
		return fmt.Errorf("read account of %s: %w", l.cfg.ID, err)
	}
	l.site = parser.NewSite(info.Namespaces)
	l.bot, l.user = user.Bot, user.Name
	l.ready = true
	return nil
}

// state returns what prepare read; prepare must have succeeded.
func (l *lane) state() (site *parser.Site, bot bool, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.site, l.bot, l.user
}

// assert returns the assertion edits on this wiki carry.
func (l *lane) assert() string {
	if _, bot, _ := l.state(); bot {
		return "bot"
	}
	return "user"
}
