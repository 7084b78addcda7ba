package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// expand replaces ${NAME} in a scalar value with the environment variable NAME, and "$$"
// with "$". A "$" followed by anything else is kept, so that a camera password such as
// "pa$word" needs no escaping. It returns n itself when the value holds no "$", otherwise a
// copy: the document's tree is left as written. ok is false after recording an error.
//
// A scalar that had a variable substituted is typed by its new text, quoted or not, so that
// "fps: ${FPS}" and, in flow style where the braces must be quoted, {fps: "${FPS}"} are read
// as integers when FPS holds one. A value that reads as null is kept as a string: an
// environment variable set to "" or "~" means that text, not "use the default".
func (p *parser) expand(n *yaml.Node, path string) (out *yaml.Node, ok bool) {
	if !strings.Contains(n.Value, "$") {
		return n, true
	}
	var b strings.Builder
	s := n.Value
	ok = true
	substituted := false
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				p.fail(n, path, "unterminated ${ (write $$ for a literal $)")
				return nil, false
			}
			name := s[i+2 : i+2+end]
			i += 2 + end + 1
			if !validEnvName(name) {
				// The text is not echoed: it may be part of a password that happens to
				// contain "${".
				p.fail(n, path, "invalid environment variable reference; want ${NAME} with letters, digits and _ (write $$ for a literal $)")
				ok = false
				continue
			}
			if p.lookupEnv == nil {
				p.fail(n, path, "${%s}: environment variables are expanded only in the configuration file (write $$ for a literal $)", name)
				ok = false
				continue
			}
			v, set := p.lookupEnv(name)
			if !set {
				p.fail(n, path, "environment variable %s is not set", name)
				ok = false
				continue
			}
			b.WriteString(v)
			substituted = true
		default:
			b.WriteByte('$')
			i++
		}
	}
	if !ok {
		return nil, false
	}
	c := *n
	c.Value = b.String()
	plain := n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	if substituted && n.Style&yaml.TaggedStyle == 0 || plain {
		// Tag "" lets yaml.v3 resolve the type from the new text, as it did from the old.
		c.Style &^= yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
		c.Tag = ""
		if c.ShortTag() == nullTag {
			c.Tag = strTag
		}
	}
	return &c, true
}

// validEnvName reports whether name is a portable environment variable name:
// letters, digits and underscores, not starting with a digit.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
