// Package spec is the schema of pigweight's YAML configuration: the server, the models the
// inference element can load, and the pipelines (one per camera or demo stream).
//
// Its duty is to turn bytes an operator wrote into a Config the rest of the system can trust,
// or into a list of every mistake, each located by file, line, column and field path
// (pipelines[1].source.uri), so an operator fixes them all in one pass.
//
// Reading a document goes, in order:
//
//  1. defaults ([Default], [DefaultPipeline], [DefaultModel]);
//  2. strict decoding of the YAML node tree: unknown and duplicate keys, wrong types,
//     anchors and aliases are errors (aliases are refused so that a hostile document cannot
//     expand into gigabytes);
//  3. ${NAME} expansion from the environment in scalar values (never in keys), done as
//     each value is decoded, so that "latency: ${LAT}" works; "$$" is a literal "$", and
//     a "$" not followed by "{" or "$" is kept as it is. In flow style ({...}, [...])
//     the braces must be quoted, "${LAT}"; the value is still typed by what it expands to;
//  4. [Config.Validate], whose errors carry the positions recorded in step 2.
//
// JSON is valid YAML, so [ParsePipeline] reads the pipeline bodies the HTTP API receives with
// the same decoder and the same rules.
//
// Values marshalled with yaml.Marshal read back equal ([Config.Equal]): Server, WebRTC, Model
// and Pipeline marshal themselves, doubling every "$" in their values.
package spec
