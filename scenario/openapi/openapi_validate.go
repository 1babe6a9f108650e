package openapi

import (
	"context"

	"github.com/getkin/kin-openapi/openapi3"
)

// validateOpenAPI validates a document in time linear in its size.
//
// kin-openapi validates each schema it meets with a fresh set of visited
// schemas, so a document whose schemas refer to each other (as big real
// ones do) has its whole schema graph walked once per operation, response
// and component: 4,000 operations over 1,600 linked schemas took over a
// minute. Here every schema is validated once, through one root whose
// allOf lists every schema the document uses, and the rest of the document
// (paths, operations, parameters, security) is validated with those
// schemas set aside. When a schema is invalid, the library's own
// validation runs to place the error at its path and operation.
func validateOpenAPI(doc *openapi3.T, opts ...openapi3.ValidationOption) error {
	refs := collectSchemaRefs(doc)
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.IsOpenAPI31OrLater())
	}
	root := &openapi3.Schema{}
	seen := map[*openapi3.Schema]bool{}
	for _, r := range refs {
		if r.Value != nil && !seen[r.Value] {
			seen[r.Value] = true
			root.AllOf = append(root.AllOf, &openapi3.SchemaRef{Value: r.Value})
		}
	}
	if err := root.Validate(context.Background(), opts...); err != nil {
		// Slow, but it says where.
		return doc.Validate(context.Background(), opts...)
	}
	placeholder := &openapi3.Schema{}
	saved := make([]*openapi3.Schema, len(refs))
	for i, r := range refs {
		saved[i] = r.Value
		if r.Value != nil {
			r.Value = placeholder
		}
	}
	defer func() {
		for i, r := range refs {
			r.Value = saved[i]
		}
	}()
	return doc.Validate(context.Background(), opts...)
}

// collectSchemaRefs lists the schema references of a document that are
// not inside another schema: components, parameters, headers, and the
// media types of request bodies and responses, in paths, callbacks and
// webhooks.
func collectSchemaRefs(doc *openapi3.T) []*openapi3.SchemaRef {
	c := &schemaRefCollector{params: map[*openapi3.Parameter]bool{}, bodies: map[*openapi3.RequestBody]bool{},
		responses: map[*openapi3.Response]bool{}, items: map[*openapi3.PathItem]bool{}}
	if comp := doc.Components; comp != nil {
		for _, r := range comp.Schemas {
			c.schema(r)
		}
		for _, p := range comp.Parameters {
			c.param(p)
		}
		for _, h := range comp.Headers {
			c.header(h)
		}
		for _, b := range comp.RequestBodies {
			c.body(b)
		}
		for _, r := range comp.Responses {
			c.response(r)
		}
		for _, cb := range comp.Callbacks {
			c.callback(cb)
		}
	}
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			c.pathItem(item)
		}
	}
	for _, item := range doc.Webhooks {
		c.pathItem(item)
	}
	return c.refs
}

type schemaRefCollector struct {
	refs      []*openapi3.SchemaRef
	params    map[*openapi3.Parameter]bool
	bodies    map[*openapi3.RequestBody]bool
	responses map[*openapi3.Response]bool
	items     map[*openapi3.PathItem]bool
}

func (c *schemaRefCollector) schema(r *openapi3.SchemaRef) {
	if r != nil {
		c.refs = append(c.refs, r)
	}
}

func (c *schemaRefCollector) content(ct openapi3.Content) {
	for _, mt := range ct {
		if mt == nil {
			continue
		}
		c.schema(mt.Schema)
		for _, enc := range mt.Encoding {
			if enc != nil {
				for _, h := range enc.Headers {
					c.header(h)
				}
			}
		}
	}
}

func (c *schemaRefCollector) param(p *openapi3.ParameterRef) {
	if p == nil || p.Value == nil || c.params[p.Value] {
		return
	}
	c.params[p.Value] = true
	c.schema(p.Value.Schema)
	c.content(p.Value.Content)
}

func (c *schemaRefCollector) header(h *openapi3.HeaderRef) {
	if h == nil || h.Value == nil || c.params[&h.Value.Parameter] {
		return
	}
	c.params[&h.Value.Parameter] = true
	c.schema(h.Value.Schema)
	c.content(h.Value.Content)
}

func (c *schemaRefCollector) body(b *openapi3.RequestBodyRef) {
	if b == nil || b.Value == nil || c.bodies[b.Value] {
		return
	}
	c.bodies[b.Value] = true
	c.content(b.Value.Content)
}

func (c *schemaRefCollector) response(r *openapi3.ResponseRef) {
	if r == nil || r.Value == nil || c.responses[r.Value] {
		return
	}
	c.responses[r.Value] = true
	c.content(r.Value.Content)
	for _, h := range r.Value.Headers {
		c.header(h)
	}
}

func (c *schemaRefCollector) callback(cb *openapi3.CallbackRef) {
	if cb == nil || cb.Value == nil {
		return
	}
	for _, item := range cb.Value.Map() {
		c.pathItem(item)
	}
}

func (c *schemaRefCollector) pathItem(item *openapi3.PathItem) {
	if item == nil || c.items[item] {
		return
	}
	c.items[item] = true
	for _, p := range item.Parameters {
		c.param(p)
	}
	for _, op := range item.Operations() {
		if op == nil {
			continue
		}
		for _, p := range op.Parameters {
			c.param(p)
		}
		c.body(op.RequestBody)
		if op.Responses != nil {
			for _, r := range op.Responses.Map() {
				c.response(r)
			}
		}
		for _, cb := range op.Callbacks {
			c.callback(cb)
		}
	}
}
