// Package parser reads the wikitext Courier acts on: delivery requests and
// their status, target lists, {{bots}} and {{nobots}} opt-outs, and page
// titles. It is pure: text in, structures out, no I/O.
//
// Everything that decides whether a message goes out passes through this
// package, so it reads wikitext the way MediaWiki's preprocessor does: the
// same brace matching ({{ }}, {{{ }}}, and [[ ]] and -{ }- hiding a "|"), the
// same comments (an unclosed <!-- runs to the end of the page), the same
// opaque extension tags (<nowiki>, <pre>, <ref> ...), <includeonly> hidden
// and <noinclude> shown as a page view shows them, headings found only at
// the start of a line, and named parameters trimmed as MediaWiki trims them.
// Offsets are byte offsets into the text given; lines are 1-based.
package parser
