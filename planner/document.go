package planner

import (
	"errors"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/yamldoc"
)

// Sentinels matched with errors.Is by every *DocumentError of that kind.
var (
	// ErrInvalidTopology: a topology file was read but its content is wrong.
	ErrInvalidTopology = errors.New("invalid topology")
	// ErrInvalidPrices: a price catalog was read but its content is wrong.
	ErrInvalidPrices = errors.New("invalid price catalog")
)

// DocumentError is every problem found in one topology or price file, each
// with its line and the field it concerns, as "file:line:col: path:
// message". Its Kind is ErrInvalidTopology or ErrInvalidPrices. It is the
// error of every document headroom reads (internal/yamldoc).
type DocumentError = yamldoc.Error

// DocumentErrorItem is one problem: where it is and what was expected. Path
// names the field with the YAML keys a user writes, such as
// `database.max_connections` or `entries[3].price`.
type DocumentErrorItem = yamldoc.Item

// parseDocument decodes one topology or price document into v, applies
// setDefaults and validate, and returns every problem with its line. It
// does no I/O. Validation problems are shown at the key of the field.
func parseDocument(data []byte, filename string, kind error, v any, setDefaults func(), validate func() error) error {
	d := yamldoc.Decode(data, filename, v, yamldoc.Options{Kind: kind, Empty: "the file is empty", AtKey: true})
	if d.Read() {
		setDefaults()
		d.Validation(validate())
	}
	return d.Err()
}

// ParseTopology decodes a topology document (YAML, or JSON), applies
// model.Topology.SetDefaults and Validate, and returns the topology or a
// *DocumentError naming filename, line and field of every problem. It does
// no I/O: the caller reads the file.
func ParseTopology(data []byte, filename string) (*model.Topology, error) {
	if filename == "" {
		filename = "topology"
	}
	t := &model.Topology{}
	if err := parseDocument(data, filename, ErrInvalidTopology, t, t.SetDefaults, t.Validate); err != nil {
		return nil, err
	}
	return t, nil
}
