package parser

// Problem is something wrong with a request or a target, said in a
// sentence the person who wrote it understands, so that Courier can answer
// on the page.
type Problem struct {
	Line int    `json:"line"` // 1-based line the problem is on
	Code string `json:"code"` // one of the Problem... codes, for programs
	Text string `json:"text"` // the sentence for the requester
}

// String returns the problem's sentence.
func (p Problem) String() string { return p.Text }

// The codes of problems.
const (
	ProblemNoList        = "no-list"          // the request names no target list
	ProblemNoSubject     = "no-subject"       // the request has no subject
	ProblemNoMessage     = "no-message"       // neither message nor page
	ProblemBothMessages  = "message-and-page" // both message and page
	ProblemLongSubject   = "long-subject"     // the subject is over MaxSubject bytes
	ProblemSubjectLines  = "subject-lines"    // the subject spans several lines
	ProblemUnknownParam  = "unknown-param"    // a parameter the template does not know
	ProblemPositional    = "positional"       // a parameter without a name
	ProblemDuplicate     = "duplicate-param"  // a parameter given twice
	ProblemUnclosed      = "unclosed"         // the template is never closed
	ProblemBadStatus     = "bad-status"       // a status Courier does not know
	ProblemBadID         = "bad-id"           // an id that is not a revision number
	ProblemEmptyTitle    = "empty-title"      // a target without a title
	ProblemBadTitle      = "bad-title"        // a title with a character titles cannot hold
	ProblemTemplateTitle = "template-title"   // a title built by a template Courier cannot expand
	ProblemInterwiki     = "interwiki"        // another wiki's title, without a domain
	ProblemUnknownDomain = "unknown-domain"   // a domain that is not one of the known wikis
	ProblemUnclosedLink  = "unclosed-link"    // a bulleted link without its "]]"
	ProblemBadJSON       = "bad-json"         // a JSON list that does not decode
)
