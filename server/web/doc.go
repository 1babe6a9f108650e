// Package web is the web UI of `headroom serve`: a static, dependency-free
// single-page application (ES modules, CSS and inline SVG charts, no build
// step, nothing loaded from outside the service) that talks to the JSON API
// with a bearer token the user pastes into the page.
//
// The server serves FS under /ui/ and falls back to index.html for any
// other path under /ui/, so that the UI's own routes (/ui/runs/ID,
// /ui/analyses/ID, ...) can be opened and reloaded directly. The page asks
// for its assets by absolute /ui/ paths.
package web
