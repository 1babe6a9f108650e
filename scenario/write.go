package scenario

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/headroom-sh/headroom/model"
	"go.yaml.in/yaml/v3"
)

// Write writes s as YAML to w, as Marshal would, but piece by piece: the
// settings at the head, then each flow, then the executors and thresholds,
// each encoded on its own and written through a buffer, so that a scenario
// of tens of thousands of flows is never held as one YAML tree or one
// string. An error leaves part of the document written.
func Write(w io.Writer, s *model.Scenario) error {
	if s == nil {
		return errors.New("could not write scenario: scenario is nil")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	sp := &sectionSpacer{w: bw}
	if err := writeYAML(sp, compactScenario(s)); err != nil {
		return fmt.Errorf("could not write scenario %q: %w", s.Name, err)
	}
	sp.flush()
	if sp.err == nil {
		sp.err = bw.Flush()
	}
	if sp.err != nil {
		return fmt.Errorf("could not write scenario: %w", sp.err)
	}
	return nil
}

// Marshal writes s as clean YAML: the camelCase keys users write, fields in
// a stable order (the order of model.Scenario's fields, map keys sorted),
// and values that SetDefaults would give anyway left out. Parse(Marshal(s))
// gives back s with its defaults applied. s is not modified.
func Marshal(s *model.Scenario) ([]byte, error) {
	if s == nil {
		return nil, errors.New("could not write scenario: scenario is nil")
	}
	var buf bytes.Buffer
	if err := Write(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeYAML encodes the top-level mapping of s one key at a time, and a
// list of mappings (the flows, the executors) one item at a time: each
// piece is a one-key document whose text is the text the whole document
// would have at that place (block mappings and sequences are written
// line by line, each line independent of its neighbours), less the key's
// line for the items after the first.
func writeYAML(w io.Writer, s *model.Scenario) error {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	wrote := false
	for i := 0; i < t.NumField(); i++ {
		name, fv, ok := yamlField(t.Field(i), v.Field(i))
		if !ok {
			continue
		}
		wrote = true
		key := scalarNode(name, "!!str")
		if fv.Kind() == reflect.Slice && fv.Len() > 0 {
			// Items encoded one by one; a list of plain values is written
			// on one line, so that one is encoded whole.
			first, err := encodeValue(fv.Index(0))
			if err != nil {
				return fmt.Errorf("%s: [0]: %w", name, err)
			}
			if first.Kind != yaml.ScalarNode {
				for j := 0; j < fv.Len(); j++ {
					c := first
					if j > 0 {
						if c, err = encodeValue(fv.Index(j)); err != nil {
							return fmt.Errorf("%s: [%d]: %w", name, j, err)
						}
					}
					// Block style, as the whole list has (a plain value among
					// mappings included).
					seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{c}}
					doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, seq}}
					if err := encodeDocument(w, doc, j > 0); err != nil {
						return err
					}
				}
				continue
			}
		}
		c, err := encodeValue(fv)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, c}}
		if err := encodeDocument(w, doc, false); err != nil {
			return err
		}
	}
	if !wrote {
		return encodeDocument(w, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, false)
	}
	return nil
}

// encodeDocument writes one YAML document to w, without its first line
// when skipKey is set.
func encodeDocument(w io.Writer, doc *yaml.Node, skipKey bool) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	b := buf.Bytes()
	if skipKey {
		i := bytes.IndexByte(b, '\n')
		if i < 0 || !bytes.HasPrefix(b[i+1:], []byte("  -")) {
			return fmt.Errorf("unexpected YAML for a list item: %q", b)
		}
		b = b[i+1:]
	}
	_, err := w.Write(b)
	return err
}

// yamlField is the key and value a struct field is written with, and
// whether it is written at all.
func yamlField(sf reflect.StructField, fv reflect.Value) (string, reflect.Value, bool) {
	tag := sf.Tag.Get("yaml")
	name, opts, _ := strings.Cut(tag, ",")
	if !sf.IsExported() || name == "-" {
		return "", fv, false
	}
	if name == "" {
		name = strings.ToLower(sf.Name)
	}
	// Zero values are left out, except numbers a reader should see
	// (a stage's `target: 0`), which the reader reads as zero anyway.
	if fv.IsZero() && (strings.Contains(opts, "omitempty") || isNilableKind(fv.Kind()) || fv.Kind() == reflect.String) {
		return "", fv, false
	}
	return name, fv, true
}

// sectionSpacer puts a blank line before each top-level section (a key
// whose value is a block, and the key after one), so the sections of a
// scenario stand apart while the plain settings at its head stay together.
// It reads the YAML line by line as it is written; errors stick.
type sectionSpacer struct {
	w *bufio.Writer
	// line is the line being written, up to its newline.
	line []byte
	// lines counts the lines passed on; prevIndented says whether the
	// last one starts with a space or a dash.
	lines        int
	prevIndented bool
	err          error
}

func (sp *sectionSpacer) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			sp.line = append(sp.line, b...)
			break
		}
		if len(sp.line) == 0 {
			sp.emit(b[:i+1])
		} else {
			sp.line = append(sp.line, b[:i+1]...)
			sp.emit(sp.line)
			sp.line = sp.line[:0]
		}
		b = b[i+1:]
	}
	return n, sp.err
}

func (sp *sectionSpacer) flush() {
	if len(sp.line) > 0 {
		sp.emit(sp.line)
		sp.line = sp.line[:0]
	}
}

func (sp *sectionSpacer) emit(l []byte) {
	if sp.err != nil {
		return
	}
	topLevel := l[0] != ' ' && l[0] != '-' && l[0] != '#' && l[0] != '\n'
	if sp.lines > 0 && topLevel {
		opensBlock := bytes.HasSuffix(bytes.TrimRight(l, "\n"), []byte(":"))
		if opensBlock || sp.prevIndented {
			sp.err = sp.w.WriteByte('\n')
		}
	}
	if sp.err == nil {
		_, sp.err = sp.w.Write(l)
	}
	sp.lines++
	sp.prevIndented = l[0] == ' ' || l[0] == '-'
}

var stageNameRE = regexp.MustCompile(`^stage-[0-9]+$`)

// compact returns a copy of s without the values SetDefaults would give
// anyway. Field-local defaults are always dropped; generated names (flows,
// executors, stages) are dropped only when dropping them provably gives
// the same scenario back.
func compactScenario(s *model.Scenario) *model.Scenario {
	want := s.Clone()
	want.SetDefaults()

	local := s.Clone()
	if local.Timeout.D() == model.DefaultTimeout {
		local.Timeout = 0
	}
	if a := local.Auth; a != nil {
		if a.Token == model.DefaultAuthToken {
			a.Token = ""
		}
		if a.Header == model.DefaultAuthHeader {
			a.Header = ""
		}
		if a.Scheme == model.DefaultAuthScheme {
			a.Scheme = ""
		}
		if reflect.DeepEqual(a.RefreshOn, model.DefaultRefreshOn) {
			a.RefreshOn = nil
		}
		compactStep(&a.Step)
	}
	for i := range local.Flows {
		f := &local.Flows[i]
		if f.Weight == 1 {
			f.Weight = 0
		}
		for j := range f.Steps {
			compactStep(&f.Steps[j])
		}
	}
	for i := range local.Executors {
		compactExecutor(&local.Executors[i])
	}
	if !sameAfterDefaults(local, want) {
		local = s.Clone()
	}

	// The generated names are cleared in place, and put back if the
	// scenario needs them: a scenario of many flows is held as few times
	// as can be.
	flowNames := make([]string, len(local.Flows))
	for i := range local.Flows {
		flowNames[i] = local.Flows[i].Name
		if local.Flows[i].Name == fmt.Sprintf("flow-%d", i+1) {
			local.Flows[i].Name = ""
		}
	}
	execNames := make([]string, len(local.Executors))
	var stageNames [][]string
	for i := range local.Executors {
		e := &local.Executors[i]
		execNames[i] = e.Name
		if e.Name == e.Type || strings.HasPrefix(e.Name, e.Type+"-") {
			e.Name = ""
		}
		names := make([]string, len(e.Stages))
		for j := range e.Stages {
			names[j] = e.Stages[j].Name
			if stageNameRE.MatchString(e.Stages[j].Name) {
				e.Stages[j].Name = ""
			}
		}
		stageNames = append(stageNames, names)
	}
	if sameAfterDefaults(local, want) {
		return local
	}
	for i := range local.Flows {
		local.Flows[i].Name = flowNames[i]
	}
	for i := range local.Executors {
		e := &local.Executors[i]
		e.Name = execNames[i]
		for j := range e.Stages {
			e.Stages[j].Name = stageNames[i][j]
		}
	}
	return local
}

func sameAfterDefaults(s, want *model.Scenario) bool {
	c := s.Clone()
	c.SetDefaults()
	return reflect.DeepEqual(c, want)
}

func compactStep(st *model.Step) {
	if st.Endpoint != "" && st.Endpoint == model.DefaultEndpoint(strings.ToUpper(st.Method), st.Path) {
		st.Endpoint = ""
	}
	if t := st.Think; t != nil {
		uniform := t.Min != 0 || t.Max != 0
		if (uniform && t.Distribution == model.ThinkUniform) || (!uniform && t.Distribution == model.ThinkConstant) {
			t.Distribution = ""
		}
	}
}

func compactExecutor(e *model.Executor) {
	if e.GracefulRampDown.D() == model.DefaultGracefulRampDown {
		e.GracefulRampDown = 0
	}
	if e.GracefulStop.D() == model.DefaultGracefulStop {
		e.GracefulStop = 0
	}
	if e.IsOpenModel() && e.TimeUnit.D() == model.DefaultTimeUnit {
		e.TimeUnit = 0
	}
	if len(e.Stages) == 1 {
		st := e.Stages[0]
		switch {
		case e.Type == model.ExecutorConstantVUs && st.Name == e.Name && st.Duration == e.Duration && st.Target == float64(e.VUs),
			e.Type == model.ExecutorConstantArrivalRate && st.Name == e.Name && st.Duration == e.Duration && st.Target == e.Rate:
			e.Stages = nil
		}
	}
	if e.IsOpenModel() {
		// The VU pool defaults depend on the rates alone: compute them on
		// a copy without them.
		probe := *e
		probe.PreAllocatedVUs, probe.MaxVUs = 0, 0
		m := model.Scenario{Executors: []model.Executor{probe}}
		m.SetDefaults()
		def := m.Executors[0].PreAllocatedVUs
		switch {
		case e.PreAllocatedVUs == def && e.MaxVUs == def:
			e.PreAllocatedVUs, e.MaxVUs = 0, 0
		case e.PreAllocatedVUs == def:
			e.PreAllocatedVUs = 0
		case e.MaxVUs == e.PreAllocatedVUs:
			e.MaxVUs = 0
		}
	}
}

var (
	stageType     = reflect.TypeOf(model.Stage{})
	durationType  = reflect.TypeOf(model.Duration(0))
	thresholdType = reflect.TypeOf(model.Threshold{})
)

// encodeValue builds the YAML node of v.
func encodeValue(v reflect.Value) (*yaml.Node, error) {
	t := v.Type()
	switch {
	case t == durationType:
		return scalarNode(model.Duration(v.Int()).String(), "!!str"), nil
	case t == thresholdType:
		th := v.Interface().(model.Threshold)
		if !th.AbortOnFail && th.DelayAbortEval == 0 {
			return encodeScalar(th.Expr)
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return scalarNode("null", "!!null"), nil
		}
		if t.Kind() == reflect.Interface {
			return encodeBody(v.Elem().Interface())
		}
		return encodeValue(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if t == stageType {
			n.Style = yaml.FlowStyle
		}
		for i := 0; i < t.NumField(); i++ {
			name, fv, ok := yamlField(t.Field(i), v.Field(i))
			if !ok {
				continue
			}
			c, err := encodeValue(fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			n.Content = append(n.Content, scalarNode(name, "!!str"), c)
		}
		return n, nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		allScalar := true
		for i := 0; i < v.Len(); i++ {
			c, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			allScalar = allScalar && c.Kind == yaml.ScalarNode
			n.Content = append(n.Content, c)
		}
		if allScalar {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := encodeValue(v.MapIndex(reflect.ValueOf(k).Convert(t.Key())))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
			kn, err := encodeScalar(k)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, kn, c)
		}
		return n, nil
	default:
		return encodeScalar(v.Interface())
	}
}

func isNilableKind(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return true
	}
	return false
}

// encodeAny builds the node of a body value. Maps are written with sorted
// keys; lists of plain values on one line.
func encodeBody(x any) (*yaml.Node, error) {
	switch b := x.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if len(b) == 0 {
			n.Style = yaml.FlowStyle
		}
		keys := make([]string, 0, len(b))
		for k := range b {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kn, err := encodeScalar(k)
			if err != nil {
				return nil, err
			}
			c, err := encodeBody(b[k])
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
			n.Content = append(n.Content, kn, c)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i, e := range b {
			c, err := encodeBody(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case nil:
		return scalarNode("null", "!!null"), nil
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct, reflect.Pointer:
		// Bodies built in code with other Go types are written through
		// their JSON shape by the YAML encoder.
		n := &yaml.Node{}
		if err := n.Encode(x); err != nil {
			return nil, err
		}
		return n, nil
	}
	return encodeScalar(x)
}

// encodeScalar lets the YAML encoder pick the tag and quoting.
func encodeScalar(x any) (*yaml.Node, error) {
	n := &yaml.Node{}
	if err := n.Encode(x); err != nil {
		return nil, err
	}
	return n, nil
}

func scalarNode(value, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
