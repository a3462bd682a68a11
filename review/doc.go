// Package review runs the life of a delivery request: it reads each new
// revision of the request page, works out who added, approved or cancelled
// what from the page history, checks permissions, hands approved requests
// to deliver, and writes the status back onto the request.
package review
