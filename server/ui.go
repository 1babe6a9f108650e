package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/headroom-sh/headroom/server/web"
)

// mountUI serves the web UI (server/web) at /ui/, with index.html for any
// path under /ui/ that is not a file (the UI's own routes), and redirects
// / to /ui/. The UI holds no data, so it needs no token; its scripts call
// the API with the token the user pastes.
func (s *Server) mountUI(e *echo.Echo) {
	serve := func(c echo.Context) error {
		name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(c.Request().URL.Path, "/ui")), "/")
		if name == "" || name == "." {
			name = "index.html"
		}
		data, err := fs.ReadFile(web.FS, name)
		if err != nil {
			// A UI route such as /ui/runs/ID: the page routes itself.
			if data, err = fs.ReadFile(web.FS, "index.html"); err != nil {
				return errorf(http.StatusNotFound, "the web UI is not built into this binary")
			}
			name = "index.html"
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = http.DetectContentType(data)
		}
		h := c.Response().Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'")
		return c.Blob(http.StatusOK, ctype, data)
	}
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/ui/") })
	e.GET("/ui", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/ui/") })
	e.GET("/ui/*", serve)
}
