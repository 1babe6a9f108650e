package scenario

import (
	"errors"
	"fmt"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/readfile"
	"github.com/headroom-sh/headroom/internal/yamldoc"
)

// DefaultTarget is where generated scenarios send load unless told otherwise.
const DefaultTarget = "http://127.0.0.1:8080"

// ErrInvalid is matched (with errors.Is) by every *Error: the scenario file
// was read but its content is wrong.
var ErrInvalid = errors.New("invalid scenario")

// Error is every problem found in one scenario file, each with its place:
// "file:line:col: path: message". It is the error of every document
// headroom reads (internal/yamldoc); its Kind is ErrInvalid.
type Error = yamldoc.Error

// ErrorItem is one problem: where it is and what was expected. Path names
// the field as in model.FieldError: `flows[0].steps[1].method`.
type ErrorItem = yamldoc.Item

// MaxScenarioBytes bounds a scenario file: generated scenarios of
// thousands of endpoints stay far below it.
const MaxScenarioBytes = 32 << 20

// ReadFile reads, defaults and validates a scenario file (YAML or JSON).
// A file that cannot be read gives a wrapped os error; a file whose content
// is wrong gives an *Error listing every problem with its line.
func ReadFile(path string) (*model.Scenario, error) {
	data, err := readfile.Read(path, MaxScenarioBytes)
	if err != nil {
		return nil, fmt.Errorf("could not read scenario %q: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes a scenario document (YAML, or JSON, which YAML includes),
// applies model.Scenario.SetDefaults and model.Scenario.Validate, and
// returns the scenario or an *Error naming filename, line, column and field
// of every problem. Keys are the camelCase YAML names of model.Scenario; the
// snake_case JSON names are accepted too, so a scenario written as JSON by
// another tool reads back. A threshold is a bare expression ("p(95)<800")
// or an object {threshold, abortOnFail, delayAbortEval}.
func Parse(data []byte, filename string) (*model.Scenario, error) {
	if filename == "" {
		filename = "scenario"
	}
	s := &model.Scenario{}
	d := yamldoc.Decode(data, filename, s, yamldoc.Options{
		Kind:  ErrInvalid,
		Empty: "empty document: expected a scenario mapping with flows and executors",
	})
	if d.Read() {
		s.SetDefaults()
		d.Validation(s.Validate())
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return s, nil
}
