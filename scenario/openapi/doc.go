// Package openapi reads an OpenAPI 3.0 or 3.1 document (YAML or JSON, with
// $refs into local files) into a generate.APIModel, reporting problems with
// their file, line and JSON pointer.
package openapi
