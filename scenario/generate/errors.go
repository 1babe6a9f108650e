package generate

import (
	"errors"
	"strconv"
	"strings"
)

// ErrBadSpec is matched (with errors.Is) by every error about the content
// of an OpenAPI document or Express source, as opposed to a file that
// could not be read.
var ErrBadSpec = errors.New("invalid API definition")

// SpecError is a problem in an API definition, with its place: the file,
// the line when known, and the JSON pointer of the element.
type SpecError struct {
	File    string
	Line    int
	Pointer string
	Msg     string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Pointer != "" {
		b.WriteString(e.Pointer + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrBadSpec) true.
func (e *SpecError) Is(target error) bool { return target == ErrBadSpec }
