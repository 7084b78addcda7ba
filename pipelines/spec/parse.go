package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxDocumentBytes bounds what Load, Parse and ParsePipeline read. A real configuration is a
// few kilobytes; the bound keeps a hostile document from costing the parser hundreds of
// megabytes of nodes.
const MaxDocumentBytes = 1 << 20

// maxErrors bounds the errors one parse reports: a document of a hundred thousand unknown
// keys would otherwise produce a response bigger than itself, and nobody reads past the
// first screenful anyway.
const maxErrors = 100

// YAML core schema tags, as yaml.Node.ShortTag reports them.
const (
	nullTag      = "!!null"
	boolTag      = "!!bool"
	strTag       = "!!str"
	intTag       = "!!int"
	floatTag     = "!!float"
	timestampTag = "!!timestamp"
	mergeTag     = "!!merge" // "<<": a merge only as a key; as a value, just text
	binaryTag    = "!!binary"
)

// Load reads the configuration file at path and parses it with Parse.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	defer f.Close()
	// One byte past the limit is enough for Parse to say the file is too large.
	data, err := io.ReadAll(io.LimitReader(f, MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse reads a configuration document: defaults, then strict decoding with ${NAME}
// expansion, then Validate. file names the document in errors. On any problem it returns
// Errors holding every problem found, sorted by line; the returned Config remembers where
// each field was, so a later Validate locates its errors too.
func Parse(file string, data []byte) (*Config, error) {
	return newParser(file).config(data)
}

// ParsePipeline reads one pipeline document, YAML or JSON, with the same defaults,
// strictness and validation as a pipeline in a configuration file, but without ${NAME}
// expansion: the document comes from an API client, and expanding would let any client read
// the server's environment (its secrets) back through the pipeline's status. Field paths
// are relative to the pipeline ("source.uri"). inference.model must name one of cfg.Models,
// and a file source must lie in one of cfg.MediaDirectories(); cfg may be nil, meaning no
// models and files from anywhere.
func ParsePipeline(file string, data []byte, cfg *Config) (Pipeline, error) {
	p := newParser(file)
	p.lookupEnv = nil
	return p.pipeline(data, newPipelineRules(cfg))
}

// position is where a field sits in its document, 1-based.
type position struct{ line, column int }

// positions maps field paths ("pipelines[0].source.uri") to where they were written.
// It is filled once by the parser and only read afterwards.
type positions struct {
	file string
	at   map[string]position
}

// lookup finds where path was written or, for a field the document left out (it has its
// default), where its nearest written ancestor was.
func (ps *positions) lookup(path string) (line, column int) {
	if ps == nil {
		return 0, 0
	}
	for {
		if p, ok := ps.at[path]; ok {
			return p.line, p.column
		}
		if path == "" {
			return 0, 0
		}
		path = parentPath(path)
	}
}

// parentPath strips the last element of a field path: "a.b[2]" → "a.b" → "a" → "".
func parentPath(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// joinPath appends a field name to a path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parser decodes one document. It is used once and thrown away.
type parser struct {
	file string
	// lookupEnv resolves ${NAME}; os.LookupEnv outside tests, nil where the document must
	// not read the environment.
	lookupEnv func(string) (string, bool)

	pos  *positions
	errs Errors
	// failed holds the paths whose value could not be decoded. Validation errors at or
	// below them are dropped: the field still holds its default, and "required" next to
	// "must be an integer" would only be noise.
	failed map[string]bool
	// dropped counts the errors past maxErrors.
	dropped int
}

func newParser(file string) *parser {
	return &parser{file: file, lookupEnv: os.LookupEnv}
}

func (p *parser) reset() {
	p.pos = &positions{file: p.file, at: map[string]position{}}
	p.errs = nil
	p.failed = map[string]bool{}
	p.dropped = 0
}

func (p *parser) config(data []byte) (*Config, error) {
	p.reset()
	root := p.document(data)
	if root == nil {
		return nil, p.result()
	}
	cfg := Default()
	p.decode(root, reflect.ValueOf(cfg).Elem(), "")
	cfg.pos = p.pos
	v := validator{pos: p.pos}
	v.config(cfg)
	p.merge(v.errs)
	if len(p.errs) > 0 {
		return nil, p.result()
	}
	return cfg, nil
}

func (p *parser) pipeline(data []byte, rules pipelineRules) (Pipeline, error) {
	p.reset()
	root := p.document(data)
	if root == nil {
		return Pipeline{}, p.result()
	}
	pl := DefaultPipeline()
	p.decode(root, reflect.ValueOf(&pl).Elem(), "")
	v := validator{pos: p.pos}
	v.pipeline("", &pl, rules)
	p.merge(v.errs)
	if len(p.errs) > 0 {
		return Pipeline{}, p.result()
	}
	return pl, nil
}

func (p *parser) merge(errs Errors) {
	for _, e := range errs {
		if !p.suppressed(e.Field) {
			p.append(e)
		}
	}
}

// append keeps the first maxErrors errors and counts the rest.
func (p *parser) append(e *FieldError) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, e)
	} else {
		p.dropped++
	}
}

func (p *parser) suppressed(path string) bool {
	for {
		if p.failed[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

func (p *parser) result() error {
	sortErrors(p.errs)
	if p.dropped > 0 {
		// Last, not sorted in: it is about the list, not about a line.
		p.errs = append(p.errs, &FieldError{
			File:    p.file,
			Message: fmt.Sprintf("%d more errors not shown; fix these first", p.dropped),
		})
	}
	return p.errs
}

// add records a problem at node n.
func (p *parser) add(n *yaml.Node, path, format string, args ...any) {
	p.append(&FieldError{
		File:    p.file,
		Line:    n.Line,
		Column:  n.Column,
		Field:   path,
		Message: fmt.Sprintf(format, args...),
	})
}

// fail records that the value at path could not be decoded.
func (p *parser) fail(n *yaml.Node, path, format string, args ...any) {
	p.add(n, path, format, args...)
	p.failed[path] = true
}

// record remembers where path was written: at its value when that is a scalar (the column
// then points at the offending value), else at its key, because a block mapping or list
// starts on the line after the key that names it.
func (p *parser) record(path string, key, value *yaml.Node) {
	n := key
	if value.Kind == yaml.ScalarNode {
		n = value
	}
	p.pos.at[path] = position{line: n.Line, column: n.Column}
}

var syntaxErrorRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data into a node tree and returns its top-level mapping, or nil after
// recording why there is none.
func (p *parser) document(data []byte) *yaml.Node {
	whole := &yaml.Node{} // position 0:0, for errors about the whole document
	if len(data) > MaxDocumentBytes {
		p.add(whole, "", "document is larger than %d bytes", MaxDocumentBytes)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeNode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(whole, "", "document is empty")
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := decodeNode(dec, &extra); !errors.Is(err, io.EOF) {
		if err != nil {
			p.syntaxError(err)
		} else {
			p.add(&extra, "", "only one YAML document is allowed; remove the second \"---\"")
		}
		return nil
	}
	if len(doc.Content) != 1 {
		p.add(whole, "", "document is empty")
		return nil
	}
	root := doc.Content[0]
	switch {
	case root.Kind == yaml.ScalarNode && root.ShortTag() == nullTag:
		p.add(root, "", "document is empty")
		return nil
	case root.Kind != yaml.MappingNode:
		p.add(root, "", "the top level must be a mapping of settings (key: value), not %s", kindName(root))
		return nil
	}
	return root
}

// decodeNode reads the next document. yaml.v3 reports its own errors by returning them;
// the recover is a backstop so that a bug in it, met on hostile input from the HTTP API,
// costs one request an error instead of costing the server its life.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse document: %v", r)
		}
	}()
	return dec.Decode(n)
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	line := 0
	if m := syntaxErrorRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.add(&yaml.Node{Line: line}, "", "invalid YAML: %s", msg)
}

// decode stores n into v, which holds its default. Only fields of the schema are walked, so
// the depth of recursion is bounded by the schema, not by the document.
func (p *parser) decode(n *yaml.Node, v reflect.Value, path string) {
	// Aliases are refused outright: expanding them is how a small document becomes a huge
	// one ("billion laughs"), and a configuration gains little from them.
	if n.Kind == yaml.AliasNode {
		p.fail(n, path, "aliases (*%s) are not supported; repeat the value instead", n.Value)
		return
	}
	if n.Anchor != "" {
		p.fail(n, path, "anchors (&%s) are not supported; repeat the value instead", n.Anchor)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag {
		return // "key:" with nothing after it keeps the default
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if n.Kind == yaml.ScalarNode {
			var ok bool
			if n, ok = p.expand(n, path); !ok {
				return
			}
		}
		if err := u.UnmarshalYAML(n); err != nil {
			p.fail(n, path, "%s", err.Error())
		}
		return
	}
	// The callback form of UnmarshalYAML, which packages that import no YAML library offer
	// (weight.ROI); yaml.v3 decodes the node for it.
	if u, ok := v.Addr().Interface().(callbackUnmarshaler); ok {
		if err := u.UnmarshalYAML(n.Decode); err != nil {
			p.fail(n, path, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		p.decodeStruct(n, v, path)
	case reflect.Slice:
		p.decodeSlice(n, v, path)
	case reflect.Array:
		p.decodeArray(n, v, path)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		p.decodeScalar(n, v, path)
	default:
		// Only reachable if types.go gains a field of a kind this decoder does not know.
		p.fail(n, path, "cannot be read: the schema has an unsupported field type %s", v.Type())
	}
}

// callbackUnmarshaler is the UnmarshalYAML that yaml.v2 defined and yaml.v3 still honours.
type callbackUnmarshaler interface {
	UnmarshalYAML(unmarshal func(any) error) error
}

// field is one YAML key of a struct.
type field struct {
	name  string
	index int
}

func yamlFields(t reflect.Type) []field {
	fields := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{name: name, index: i})
	}
	return fields
}

func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "must be a mapping (key: value), not %s", kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := make(map[string]*yaml.Node, len(fields))
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			p.add(key, path, "keys must be plain names, not %s", kindName(key))
			continue
		}
		child := joinPath(path, key.Value)
		j := -1
		for k, f := range fields {
			if f.name == key.Value {
				j = k
				break
			}
		}
		if j < 0 {
			p.add(key, child, "unknown field (known: %s)", fieldNames(fields))
			continue
		}
		if first, dup := seen[key.Value]; dup {
			p.add(key, child, "duplicate field (first at line %d)", first.Line)
			continue
		}
		seen[key.Value] = key
		p.record(child, key, value)
		p.decode(value, v.Field(fields[j].index), child)
	}
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func (p *parser) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, path, "must be a list, not %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		child := indexPath(path, i)
		p.record(child, item, item)
		elem := reflect.New(v.Type().Elem()).Elem()
		setDefault(elem)
		p.decode(item, elem, child)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

// setDefault gives a new list element the defaults of its kind: an entry of pipelines,
// models or outputs is filled like the whole document is.
func setDefault(v reflect.Value) {
	switch p := v.Addr().Interface().(type) {
	case *Pipeline:
		*p = DefaultPipeline()
	case *Model:
		*p = DefaultModel()
	case *Output:
		*p = defaultOutput()
	}
}

func (p *parser) decodeArray(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode || len(n.Content) != v.Len() {
		p.fail(n, path, "must be a list of exactly %d values", v.Len())
		return
	}
	for i, item := range n.Content {
		child := indexPath(path, i)
		p.record(child, item, item)
		p.decode(item, v.Index(i), child)
	}
}

func (p *parser) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := "an integer"
	switch v.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Float64:
		want = "a number"
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n, path, "must be %s, not %s", want, kindName(n))
		return
	}
	n, ok := p.expand(n, path)
	if !ok {
		return
	}
	tag := n.ShortTag()
	if tag == nullTag {
		return // ${NAME} expanded to "~" or "null": as if the key had no value
	}
	switch v.Kind() {
	case reflect.String:
		switch tag {
		case strTag, intTag, floatTag, boolTag, timestampTag, mergeTag:
			// The text as written: "api_token: 0123" keeps its leading zero.
			v.SetString(n.Value)
			return
		case binaryTag:
			var s string
			if err := n.Decode(&s); err == nil {
				v.SetString(s)
				return
			}
		}
	case reflect.Bool:
		// Only true and false (any case): YAML 1.1's yes/no/on/off are refused, since
		// "country: NO" style surprises are worse than a clear error.
		var b bool
		if tag == boolTag && n.Decode(&b) == nil {
			v.SetBool(b)
			return
		}
	case reflect.Int, reflect.Int64:
		// Only !!int: yaml.v3 would truncate 1.5 to 1, which hides a mistake.
		var i int64
		if tag == intTag && n.Decode(&i) == nil && !v.OverflowInt(i) {
			v.SetInt(i)
			return
		}
	case reflect.Float64:
		var f float64
		if (tag == floatTag || tag == intTag) && n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			v.SetFloat(f)
			return
		}
	}
	p.fail(n, path, "must be %s", want)
}

// kindName names what a node is, for messages such as "must be a list, not a mapping".
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case nullTag:
			return "null"
		case strTag:
			return "a string"
		case intTag:
			return "an integer"
		case floatTag:
			return "a number"
		case boolTag:
			return "a boolean"
		}
		return "a scalar"
	}
	return "nothing"
}
