package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// requireToken returns middleware that demands "Authorization: Bearer <token>" on every request
// that can change something. Reads (GET, HEAD, OPTIONS) stay open so that the start page,
// monitoring and the docs work without the secret.
func requireToken(token string) fiber.Handler {
	want := sha256.Sum256([]byte(token))
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		got, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
		if !ok {
			return errTokenMissing
		}
		// Comparing digests rather than the strings gives both sides the same length, so the
		// time taken reveals neither the token nor its length.
		have := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(have[:], want[:]) != 1 {
			return errTokenInvalid
		}
		return c.Next()
	}
}

// bearerToken extracts the token of an RFC 6750 "Bearer" Authorization header. The scheme is
// case-insensitive (RFC 7235 §2.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
