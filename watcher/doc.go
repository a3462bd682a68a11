// Package watcher follows a wiki farm's recent changes (the EventStreams
// SSE feed, or list=recentchanges when there is none) and turns them into
// "page P on wiki W reached revision R", once each, for the pages Courier
// watches: the request page, the senders and shutoff pages, target lists.
package watcher
