// Package express reads the routes, body types and auth middleware of an
// Express.js application (JavaScript or TypeScript) into a
// generate.APIModel. It parses with tree-sitter, so it needs cgo; the
// scenario file format and the service do not import it.
package express
