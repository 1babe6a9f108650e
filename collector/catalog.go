package collector

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/readfile"
)

// builtinCatalog is the catalog every run starts from.
//
//go:embed catalog.yaml
var builtinCatalog []byte

// builtinName names the built-in catalog in error messages.
const builtinName = "catalog.yaml"

// ErrBadCatalog is wrapped by every error about a catalog file.
var ErrBadCatalog = errors.New("invalid resource catalog")

// CatalogError is one problem in a catalog, located by file, line (0 when
// unknown) and field path, e.g.
//
//	my-catalog.yaml:14: resources[db_pool].families[pgxpool].usage: invalid PromQL: 1:5: parse error: …
type CatalogError struct {
	File string
	Line int
	// Path names the field with YAML keys: resources by kind, families by name.
	Path string
	Err  error
}

func (e *CatalogError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *CatalogError) Unwrap() []error { return []error{ErrBadCatalog, e.Err} }

var (
	defaultOnce sync.Once
	defaultCat  *model.Catalog
)

// DefaultCatalog returns a copy of the built-in catalog (catalog.yaml in
// this package), which callers may change.
func DefaultCatalog() *model.Catalog {
	defaultOnce.Do(func() {
		c, err := parseCatalog(builtinName, builtinCatalog, nil)
		if err != nil {
			// The built-in catalog is tested; this cannot happen in a
			// released binary.
			panic(err)
		}
		defaultCat = c
	})
	return cloneCatalog(defaultCat)
}

// LoadCatalog reads a user catalog and merges it into the built-in one.
//
// The file has the shape of catalog.yaml. Unknown keys, missing fields,
// selectors and PromQL that do not parse are errors that name the file,
// line and field. Merging works by resource kind and family name:
//
//   - A resource of a new kind is added after the built-in ones.
//   - For a built-in kind, the fields the file sets (name, description,
//     selector) replace the built-in values. A family of a new name is
//     tried before the built-in families, since the user knows the system;
//     a family with a built-in name keeps its place and has only the fields
//     the file sets replaced (an empty string clears one).
//   - `replace: true` on a family or a resource replaces the built-in one
//     wholly; `replace: true` at the top of the file drops the built-in
//     catalog entirely.
func LoadCatalog(path string) (*model.Catalog, error) {
	b, err := readfile.Read(path, readfile.Config)
	if err != nil {
		return nil, fmt.Errorf("could not read resource catalog: %w", err)
	}
	base := DefaultCatalog()
	return parseCatalog(path, b, base)
}

// parseCatalog decodes a catalog document; when base is not nil the
// document is merged into it. The result is fully validated.
func parseCatalog(name string, b []byte, base *model.Catalog) (*model.Catalog, error) {
	fail := func(line int, path string, err error) error {
		return &CatalogError{File: name, Line: line, Path: path, Err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fail(0, "", err)
	}
	if len(doc.Content) == 0 {
		return nil, fail(0, "", errors.New("the file is empty: expected a mapping with a resources list"))
	}
	lines := map[string]int{}
	var errs []error
	checkKeys(doc.Content[0], reflect.TypeOf(model.Catalog{}), "", lines, func(line int, path string, err error) {
		errs = append(errs, fail(line, path, err))
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var user model.Catalog
	if err := doc.Content[0].Decode(&user); err != nil {
		// yaml.v3 type errors already say "line N: cannot unmarshal …".
		return nil, fail(0, "", err)
	}
	cat := &user
	if base != nil {
		// Merging goes by kind and family name, so those must be there
		// and unique before anything else is checked.
		kinds := map[string]bool{}
		for i, r := range user.Resources {
			rp := model.ResourcePath(i, r.Kind)
			switch {
			case r.Kind == "":
				errs = append(errs, fail(lineOf(lines, rp), rp+".kind", errors.New("missing: expected a resource kind such as \"db_pool\"")))
			case kinds[r.Kind]:
				errs = append(errs, fail(lineOf(lines, rp), rp+".kind", fmt.Errorf("kind %q is listed twice", r.Kind)))
			}
			kinds[r.Kind] = true
			names := map[string]bool{}
			for j, f := range r.Families {
				fp := rp + "." + model.FamilyPath(j, f.Name)
				switch {
				case f.Name == "":
					errs = append(errs, fail(lineOf(lines, fp), fp+".name", errors.New("missing: expected a family name such as \"pgxpool\"")))
				case names[f.Name]:
					errs = append(errs, fail(lineOf(lines, fp), fp+".name", fmt.Errorf("family %q is listed twice", f.Name)))
				}
				names[f.Name] = true
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		cat = mergeCatalog(base, &user, lines)
	}
	if err := validateCatalog(cat); err != nil {
		var ves model.ValidationErrors
		if !errors.As(err, &ves) {
			return nil, fail(0, "", err)
		}
		for _, fe := range ves {
			errs = append(errs, fail(lineOf(lines, fe.Path), fe.Path, errors.New(fe.Msg)))
		}
		return nil, errors.Join(errs...)
	}
	return cat, nil
}

// validateCatalog checks the structure (model.Catalog.Validate), then that
// every selector and query parses.
func validateCatalog(c *model.Catalog) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var ves model.ValidationErrors
	check := func(path, q string) {
		if strings.TrimSpace(q) == "" {
			return
		}
		if _, err := ParseQuery(q); err != nil {
			ves = append(ves, model.FieldError{Path: path, Msg: err.Error()})
		}
	}
	checkSel := func(path, s string) {
		if _, err := ParseSelector(s); err != nil {
			ves = append(ves, model.FieldError{Path: path, Msg: err.Error()})
		}
	}
	for i, r := range c.Resources {
		rp := model.ResourcePath(i, r.Kind)
		checkSel(rp+".selector", r.Selector)
		for j, f := range r.Families {
			fp := rp + "." + model.FamilyPath(j, f.Name)
			checkSel(fp+".selector", f.Selector)
			check(fp+".detect", f.Detect)
			check(fp+".usage", f.Usage)
			check(fp+".limit", f.Limit)
			check(fp+".utilization", f.Utilization)
			check(fp+".saturation", f.Saturation)
			for k, lf := range f.LimitFallbacks {
				lp := fmt.Sprintf("%s.limitFallbacks[%d]", fp, k)
				check(lp+".query", lf.Query)
				checkSel(lp+".selector", lf.Selector)
			}
		}
	}
	if len(ves) > 0 {
		return ves
	}
	return nil
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// checkKeys walks a YAML node against the Go type it decodes into, reports
// keys the type does not have, and records the line of every field and
// list item under its path.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int, report func(line int, path string, err error)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			report(n.Line, path, fmt.Errorf("expected a mapping with keys %s", strings.Join(yamlKeys(t), ", ")))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			fp := k.Value
			if path != "" {
				fp = path + "." + k.Value
			}
			f, ok := fieldByYAMLKey(t, k.Value)
			if !ok {
				report(k.Line, path, fmt.Errorf("unknown key %q: expected one of %s", k.Value, strings.Join(yamlKeys(t), ", ")))
				continue
			}
			lines[fp] = k.Line
			checkKeys(v, f.Type, fp, lines, report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return // Decode reports the type error with its line.
		}
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if id := itemID(item, t.Elem()); id != "" {
				ip = path + "[" + id + "]"
			}
			lines[ip] = item.Line
			checkKeys(item, t.Elem(), ip, lines, report)
		}
	}
}

// itemID names a list item by its kind, or by its name when its type has
// no kind, as model.ResourcePath and model.FamilyPath do.
func itemID(n *yaml.Node, t reflect.Type) string {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return ""
	}
	key := ""
	if _, ok := fieldByYAMLKey(t, "kind"); ok {
		key = "kind"
	} else if _, ok := fieldByYAMLKey(t, "name"); ok {
		key = "name"
	} else {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode && n.Content[i+1].Value != "" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func yamlKey(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func fieldByYAMLKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && yamlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() && yamlKey(f) != "" {
			out = append(out, yamlKey(f))
		}
	}
	return out
}

// mergeCatalog merges user into a copy of base as LoadCatalog documents.
// lines tells which keys the user's file set.
func mergeCatalog(base, user *model.Catalog, lines map[string]int) *model.Catalog {
	if user.Replace {
		c := cloneCatalog(user)
		c.Replace = false
		clearReplace(c)
		return c
	}
	out := cloneCatalog(base)
	for _, ur := range user.Resources {
		rp := model.ResourcePath(0, ur.Kind)
		br := out.Resource(ur.Kind)
		switch {
		case br == nil:
			out.Resources = append(out.Resources, cloneResource(ur))
		case ur.Replace:
			*br = cloneResource(ur)
		default:
			setFields(br, &ur, rp, lines, "families")
			var added []model.MetricFamily
			for _, uf := range ur.Families {
				fp := rp + "." + model.FamilyPath(0, uf.Name)
				bf := br.Family(uf.Name)
				switch {
				case bf == nil:
					added = append(added, cloneFamily(uf))
				case uf.Replace:
					*bf = cloneFamily(uf)
				default:
					setFields(bf, &uf, fp, lines)
				}
			}
			br.Families = append(added, br.Families...)
		}
	}
	clearReplace(out)
	return out
}

// setFields copies the fields of src whose YAML keys the user's file set
// (path.key is in lines) into dst; skip names keys handled by the caller.
func setFields[T any](dst, src *T, path string, lines map[string]int, skip ...string) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	t := dv.Type()
	for i := 0; i < t.NumField(); i++ {
		key := yamlKey(t.Field(i))
		if key == "" || key == "replace" || slicesContains(skip, key) {
			continue
		}
		if _, set := lines[path+"."+key]; set {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func clearReplace(c *model.Catalog) {
	for i := range c.Resources {
		c.Resources[i].Replace = false
		for j := range c.Resources[i].Families {
			c.Resources[i].Families[j].Replace = false
		}
	}
}

func cloneCatalog(c *model.Catalog) *model.Catalog {
	out := &model.Catalog{Replace: c.Replace, Resources: make([]model.CatalogResource, len(c.Resources))}
	for i, r := range c.Resources {
		out.Resources[i] = cloneResource(r)
	}
	return out
}

func cloneResource(r model.CatalogResource) model.CatalogResource {
	fams := make([]model.MetricFamily, len(r.Families))
	for i, f := range r.Families {
		fams[i] = cloneFamily(f)
	}
	r.Families = fams
	return r
}

func cloneFamily(f model.MetricFamily) model.MetricFamily {
	if f.LimitFallbacks != nil {
		f.LimitFallbacks = append([]model.LimitFallback(nil), f.LimitFallbacks...)
	}
	return f
}

// MarshalCatalog writes a catalog as YAML, e.g. for `headroom resources
// --print-catalog`.
func MarshalCatalog(c *model.Catalog) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// catalogKinds lists the kinds of a catalog, sorted, for messages.
func catalogKinds(c *model.Catalog) []string {
	out := make([]string, 0, len(c.Resources))
	for _, r := range c.Resources {
		out = append(out, r.Kind)
	}
	sort.Strings(out)
	return out
}
