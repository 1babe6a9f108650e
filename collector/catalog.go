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
	"github.com/headroom-sh/headroom/internal/yamldoc"
)

// builtinCatalog is the catalog every run starts from.
//
//go:embed catalog.yaml
var builtinCatalog []byte

// builtinName names the built-in catalog in error messages.
const builtinName = "catalog.yaml"

// ErrBadCatalog is wrapped by every error about a catalog file.
var ErrBadCatalog = errors.New("invalid resource catalog")

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
// document is merged into it. The result is fully validated; every problem
// is an item of a *yamldoc.Error "file:line:col: path: message", where
// resources are named by kind and families by name
// (`resources[db_pool].families[pgxpool].usage`).
func parseCatalog(name string, b []byte, base *model.Catalog) (*model.Catalog, error) {
	var user model.Catalog
	d := yamldoc.Decode(b, name, &user, yamldoc.Options{
		Kind:     ErrBadCatalog,
		Empty:    "the file is empty: expected a mapping with a resources list",
		ItemKeys: []string{"kind", "name"},
	})
	if d.Failed() {
		return nil, d.Err()
	}
	cat := &user
	if base != nil {
		// Merging goes by kind and family name, so those must be there
		// and unique before anything else is checked. A repeated item is
		// shown at its own place, found by its index.
		kinds := map[string]bool{}
		for i, r := range user.Resources {
			rp := model.ResourcePath(i, r.Kind)
			at := fmt.Sprintf("resources[%d]", i)
			switch {
			case r.Kind == "":
				d.AddAt(at, rp+".kind", "missing: expected a resource kind such as \"db_pool\"")
			case kinds[r.Kind]:
				d.AddAt(at, rp+".kind", "kind %q is listed twice", r.Kind)
			}
			kinds[r.Kind] = true
			names := map[string]bool{}
			for j, f := range r.Families {
				fp := rp + "." + model.FamilyPath(j, f.Name)
				at := fmt.Sprintf("%s.families[%d]", rp, j)
				switch {
				case f.Name == "":
					d.AddAt(at, fp+".name", "missing: expected a family name such as \"pgxpool\"")
				case names[f.Name]:
					d.AddAt(at, fp+".name", "family %q is listed twice", f.Name)
				}
				names[f.Name] = true
			}
		}
		if d.Failed() {
			return nil, d.Err()
		}
		cat = mergeCatalog(base, &user, d.Written)
	}
	d.Validation(validateCatalog(cat))
	if err := d.Err(); err != nil {
		return nil, err
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

// mergeCatalog merges user into a copy of base as LoadCatalog documents.
// written tells which keys the user's file set.
func mergeCatalog(base, user *model.Catalog, written func(path string) bool) *model.Catalog {
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
			setFields(br, &ur, rp, written, "families")
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
					setFields(bf, &uf, fp, written)
				}
			}
			br.Families = append(added, br.Families...)
		}
	}
	clearReplace(out)
	return out
}

// setFields copies the fields of src whose YAML keys the user's file set
// (path.key is written) into dst; skip names keys handled by the caller.
func setFields[T any](dst, src *T, path string, written func(string) bool, skip ...string) {
	dv, sv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	t := dv.Type()
	for i := 0; i < t.NumField(); i++ {
		key := yamlKey(t.Field(i))
		if key == "" || key == "replace" || slicesContains(skip, key) {
			continue
		}
		if written(path + "." + key) {
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
