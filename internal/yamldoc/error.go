// Package yamldoc is the one reader of headroom's YAML (and JSON) documents
// — scenarios, topologies, price and resource catalogs, the service's config
// file. It decodes a yaml.Node tree into a Go value by reflection, strictly:
// unknown keys (with a "did you mean", from model.Suggest), values of the
// wrong type, duplicate keys, a second document and documents that expand
// without bound through aliases are errors. It remembers where each field
// path was written, so that the problems a document's Validate finds later
// are given a line too, and it reports every problem as an Item
// "file:line:col: path: message".
//
// The package does no I/O: callers read the bytes (internal/readfile).
package yamldoc

import (
	"strconv"
	"strings"
)

// Item is one problem: where it is and what was expected.
type Item struct {
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path names the field with the keys a user writes, as in
	// model.FieldError: `flows[0].steps[1].method`, `resources[db_pool]`,
	// `thresholds["checks"][0]`. It is empty for problems of the document
	// as a whole.
	Path string
	Msg  string
}

// String formats the item as "line:col: path: message" (without the file).
func (it Item) String() string {
	var b strings.Builder
	if it.Line > 0 {
		b.WriteString(strconv.Itoa(it.Line))
		if it.Column > 0 {
			b.WriteString(":" + strconv.Itoa(it.Column))
		}
		b.WriteString(": ")
	}
	if it.Path != "" {
		b.WriteString(it.Path + ": ")
	}
	b.WriteString(it.Msg)
	return b.String()
}

// Error is every problem found in one document, in document order.
type Error struct {
	// File is the name the problems are reported under.
	File string
	// Kind, when set, is the sentinel errors.Is matches (such as
	// scenario.ErrInvalid).
	Kind  error
	Items []Item
}

// Error lists every problem on its own line as
// "file:line:col: path: message" ("file: path: message" when the line is
// unknown).
func (e *Error) Error() string {
	lines := make([]string, len(e.Items))
	for i, it := range e.Items {
		sep := ":"
		if it.Line == 0 {
			sep = ": "
		}
		lines[i] = e.File + sep + it.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, e.Kind) true.
func (e *Error) Is(target error) bool { return e.Kind != nil && target == e.Kind }
