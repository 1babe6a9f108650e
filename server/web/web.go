package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS holds the UI's files with index.html at its top: index.html,
// style.css and the JavaScript modules (app.js imports the others).
var FS fs.FS = mustSub(static, "static")

// Files lists the UI's files, index.html first; the package's tests check
// that FS holds exactly these.
var Files = []string{"index.html", "style.css", "app.js", "api.js", "ui.js", "chart.js", "runs.js", "analyses.js", "reviews.js"}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		// fs.Sub fails only on an invalid path, which dir is not.
		panic(err)
	}
	return sub
}
