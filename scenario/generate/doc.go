// Package generate turns what a reader found in an API's definitions (an
// APIModel: routes, parameters, body schemas, auth) into a load scenario:
// realistic flows with captured ids, synthesized payloads and a login step.
//
// The readers live in their own packages: scenario/openapi for OpenAPI 3
// documents, scenario/express for Express.js + TypeScript sources (cgo).
package generate
