package api

import (
	_ "embed"
	"io/fs"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/pigweight/pigweight/web/ui"
)

// docsHTML (a string, so it cannot be modified) renders /api/v1/openapi.json in the browser. It is self-contained (script and style
// inline, no CDN) because the machines that serve it usually have no internet.
//
//go:embed docs.html
var docsHTML string

func (s *server) docs(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Type("html", "utf-8")
	return c.Status(fiber.StatusOK).SendString(docsHTML)
}

func (s *server) uiIndex(c *fiber.Ctx) error {
	return s.sendUIFile(c, "index.html")
}

// viewPage serves the live view of /view/:name; the page reads the stream's name from its own
// address, so one file serves every stream.
func (s *server) viewPage(c *fiber.Ctx) error {
	return s.sendUIFile(c, "view.html")
}

// uiAsset serves /ui/<file> from the embedded start page.
func (s *server) uiAsset(c *fiber.Ctx) error {
	return s.sendUIFile(c, c.Params("*"))
}

func (s *server) sendUIFile(c *fiber.Ctx, name string) error {
	// fs.ValidPath refuses "..", absolute and empty paths; the embedded FS could not escape
	// anyway, but a clean 404 beats relying on that.
	if !fs.ValidPath(name) || name == "." {
		return fiber.ErrNotFound
	}
	data, err := fs.ReadFile(ui.FS(), name)
	if err != nil {
		return fiber.ErrNotFound
	}
	// The assets change with the binary, not with time: revalidate on every load so an
	// upgrade is never hidden behind a cached app.js.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	// The page loads its script and style from here and talks only to this API.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	c.Type(path.Ext(name), "utf-8")
	return c.Status(fiber.StatusOK).Send(data)
}
