package api

import (
	"encoding/json"
)

// The OpenAPI 3.0.3 document of this API, built as Go data and marshalled once by New.
// api_test.go checks it against the routes the app registers and the JSON tags of the Go types
// it describes, so a route or field added without its description fails the tests.
//
// Spec: https://spec.openapis.org/oas/v3.0.3

// obj is a JSON object of the document.
type obj = map[string]any

func openAPIJSON(version string) ([]byte, error) {
	return json.Marshal(openAPIDocument(version))
}

func openAPIDocument(version string) obj {
	if version == "" {
		version = "dev"
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "pigweight control API",
			"version": version,
			"description": "Lists, adds, removes, starts, stops and restarts pipelines (one per camera or file), " +
				"and reports what the machine can decode and infer with. Every error is JSON of the Error schema. " +
				"When the server is configured with an API token, every request that is not GET, HEAD or OPTIONS " +
				"needs `Authorization: Bearer <token>`.",
		},
		"tags": []obj{
			{"name": "pipelines", "description": "Pipelines and their state."},
			{"name": "system", "description": "The server and the machine it runs on."},
			{"name": "docs", "description": "This description of the API."},
		},
		"paths":      openAPIPaths(),
		"components": openAPIComponents(),
	}
}

func schemaRef(name string) obj   { return obj{"$ref": "#/components/schemas/" + name} }
func responseRef(name string) obj { return obj{"$ref": "#/components/responses/" + name} }

func jsonContent(schema obj) obj {
	return obj{"application/json": obj{"schema": schema}}
}

// bearer is the security requirement of mutating operations.
func bearer() []obj { return []obj{{"bearer": []string{}}} }

// statusResponse is a 200 or 201 answer carrying a pipeline's Status.
func statusResponse(description string) obj {
	return obj{"description": description, "content": jsonContent(schemaRef("Status"))}
}

func openAPIPaths() obj {
	nameParam := []obj{{"$ref": "#/components/parameters/PipelineName"}}
	action := func(id, verb, description string) obj {
		return obj{
			"parameters": nameParam,
			"post": obj{
				"operationId": id,
				"tags":        []string{"pipelines"},
				"summary":     verb + " a pipeline",
				"description": description + " The answer is the status read right after the request was " +
					"accepted; the pipeline changes state asynchronously, so poll GET for what follows.",
				"security": bearer(),
				"responses": obj{
					"200": statusResponse("The pipeline's status after the request."),
					"401": responseRef("Unauthorized"),
					"404": responseRef("NotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("ServiceUnavailable"),
				},
			},
		}
	}
	return obj{
		"/api/v1/health": obj{
			"get": obj{
				"operationId": "getHealth",
				"tags":        []string{"system"},
				"summary":     "Liveness check",
				"description": "Answers as long as the process serves HTTP. It does not look at pipelines: " +
					"a broken camera must not get the whole node restarted.",
				"responses": obj{
					"200": obj{"description": "The server is up.", "content": jsonContent(schemaRef("Health"))},
				},
			},
		},
		"/api/v1/system": obj{
			"get": obj{
				"operationId": "getSystem",
				"tags":        []string{"system"},
				"summary":     "Machine capabilities",
				"description": "Versions of pigweight, GStreamer and ONNX Runtime; which decoders exist; " +
					"which execution providers can run a model.",
				"responses": obj{
					"200": obj{"description": "What this machine offers.", "content": jsonContent(schemaRef("System"))},
					"500": responseRef("InternalError"),
				},
			},
		},
		"/api/v1/pipelines": obj{
			"get": obj{
				"operationId": "listPipelines",
				"tags":        []string{"pipelines"},
				"summary":     "List pipelines",
				"description": "Every pipeline, sorted by name. An empty list is `[]`, never null.",
				"responses": obj{
					"200": obj{
						"description": "All pipelines.",
						"content":     jsonContent(obj{"type": "array", "items": schemaRef("Status")}),
					},
					"500": responseRef("InternalError"),
				},
			},
			"post": obj{
				"operationId": "addPipeline",
				"tags":        []string{"pipelines"},
				"summary":     "Add a pipeline",
				"description": "Adds one pipeline and starts it. The body is one entry of the config file's " +
					"`pipelines:` list, as YAML or JSON, validated the same way (defaults applied, unknown fields " +
					"refused). At most 1 MiB; the Content-Type may be absent.",
				"security": bearer(),
				"requestBody": obj{
					"required": true,
					"content": obj{
						"application/json": obj{"schema": schemaRef("Pipeline")},
						"application/yaml": obj{
							"schema":  schemaRef("Pipeline"),
							"example": "name: pen-2\nsource:\n  type: rtsp\n  uri: rtsp://camera-2.local/stream1\n",
						},
						"text/yaml": obj{"schema": schemaRef("Pipeline")},
					},
				},
				"responses": obj{
					"201": obj{
						"description": "Added; the body is the new pipeline's status.",
						"headers": obj{
							"Location": obj{"description": "URL of the new pipeline.", "schema": obj{"type": "string"}},
						},
						"content": jsonContent(schemaRef("Status")),
					},
					"400": responseRef("BadRequest"),
					"401": responseRef("Unauthorized"),
					"409": responseRef("Conflict"),
					"413": responseRef("PayloadTooLarge"),
					"415": responseRef("UnsupportedMediaType"),
					"500": responseRef("InternalError"),
					"501": responseRef("NotImplemented"),
					"503": responseRef("ServiceUnavailable"),
				},
			},
		},
		"/api/v1/pipelines/{name}": obj{
			"parameters": nameParam,
			"get": obj{
				"operationId": "getPipeline",
				"tags":        []string{"pipelines"},
				"summary":     "Get one pipeline",
				"responses": obj{
					"200": statusResponse("The pipeline's status."),
					"404": responseRef("NotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("ServiceUnavailable"),
				},
			},
			"delete": obj{
				"operationId": "removePipeline",
				"tags":        []string{"pipelines"},
				"summary":     "Remove a pipeline",
				"description": "Stops the pipeline and forgets it until it is added again.",
				"security":    bearer(),
				"responses": obj{
					"204": obj{"description": "Removed."},
					"401": responseRef("Unauthorized"),
					"404": responseRef("NotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("ServiceUnavailable"),
				},
			},
		},
		"/api/v1/pipelines/{name}/start":   action("startPipeline", "Start", "Starts a stopped or failed pipeline."),
		"/api/v1/pipelines/{name}/stop":    action("stopPipeline", "Stop", "Stops a pipeline; it stays listed as stopped."),
		"/api/v1/pipelines/{name}/restart": action("restartPipeline", "Restart", "Stops the pipeline and starts it again, resetting its backoff."),
		"/api/v1/pipelines/{name}/detections": obj{
			"parameters": nameParam,
			"get": obj{
				"operationId": "getDetections",
				"tags":        []string{"pipelines"},
				"summary":     "Latest analysed frame",
				"description": "The detections of the pipeline's most recent frame that the model analysed: " +
					"`pts` in nanoseconds, `frame` counted from 0 since the pipeline (re)started, " +
					"boxes `[x, y, w, h]` in frame pixels.",
				"responses": obj{
					"200": obj{"description": "The latest analysed frame.", "content": jsonContent(schemaRef("Detections"))},
					"404": errorResponse("No such pipeline, it runs no model, or it has not analysed a frame yet."),
					"500": responseRef("InternalError"),
					"503": responseRef("ServiceUnavailable"),
				},
			},
		},
		"/api/v1/models": obj{
			"get": obj{
				"operationId": "listModels",
				"tags":        []string{"models"},
				"summary":     "Loaded models and their batching metrics",
				"description": "Each model: the execution provider in use (and the ones that fell back), input shape, " +
					"batch settings, mean pre-processing time per frame, batch-size histogram, queue wait, inference " +
					"time and skipped frames.",
				"responses": obj{
					"200": obj{"description": "Every loaded model.", "content": jsonContent(obj{"type": "array", "items": obj{"type": "object"}})},
					"500": responseRef("InternalError"),
				},
			},
		},
		"/api/v1/reload": obj{
			"post": obj{
				"operationId": "reload",
				"tags":        []string{"system"},
				"summary":     "Reload the configuration file",
				"description": "Re-reads the configuration file (as SIGHUP does) and applies its pipelines: new ones start, " +
					"removed ones stop, changed ones restart, the rest and pipelines added through the API are left alone. " +
					"An invalid file changes nothing and its problems come back as a 400.",
				"security": bearer(),
				"responses": obj{
					"200": obj{"description": "What changed, by pipeline name.", "content": jsonContent(schemaRef("ReloadResult"))},
					"400": responseRef("BadRequest"),
					"401": responseRef("Unauthorized"),
					"500": responseRef("InternalError"),
					"501": responseRef("NotImplemented"),
				},
			},
		},
		"/api/v1/openapi.json": obj{
			"get": obj{
				"operationId": "getOpenAPI",
				"tags":        []string{"docs"},
				"summary":     "This OpenAPI document",
				"responses": obj{
					"200": obj{
						"description": "The OpenAPI 3.0.3 document of this API.",
						"content":     jsonContent(obj{"type": "object"}),
					},
				},
			},
		},
		"/docs": obj{
			"get": obj{
				"operationId": "getDocs",
				"tags":        []string{"docs"},
				"summary":     "API documentation page",
				"description": "An HTML page that renders this document; it needs no internet access.",
				"responses": obj{
					"200": obj{
						"description": "The page.",
						"content":     obj{"text/html": obj{"schema": obj{"type": "string"}}},
					},
				},
			},
		},
		"/view/{name}": obj{
			"get": obj{
				"operationId": "getViewPage",
				"tags":        []string{"docs"},
				"summary":     "Live view page of a pipeline",
				"description": "An HTML page that plays the pipeline's stream over WebRTC (signalling on /ws) and draws its detections over each frame. The page is the same for every name; an unknown name shows an error in the page.",
				"parameters":  []obj{{"$ref": "#/components/parameters/PipelineName"}},
				"responses": obj{
					"200": obj{
						"description": "The page.",
						"content":     obj{"text/html": obj{"schema": obj{"type": "string"}}},
					},
				},
			},
		},
	}
}

func errorResponse(description string) obj {
	return obj{"description": description, "content": jsonContent(schemaRef("Error"))}
}

func openAPIComponents() obj {
	return obj{
		"securitySchemes": obj{
			"bearer": obj{
				"type":        "http",
				"scheme":      "bearer",
				"description": "The server's API token (config `server.api_token`). Needed only when the server has one.",
			},
		},
		"parameters": obj{
			"PipelineName": obj{
				"name":        "name",
				"in":          "path",
				"required":    true,
				"description": "The pipeline's name, percent-encoded.",
				"schema":      obj{"type": "string"},
			},
		},
		"responses": obj{
			"BadRequest":    errorResponse("The body or a parameter is invalid; `field` and `errors` say where."),
			"NotFound":      errorResponse("There is no pipeline of that name."),
			"Conflict":      errorResponse("A pipeline of that name already exists."),
			"InternalError": errorResponse("Something failed inside the server; its log has the details."),
			"Unauthorized": obj{
				"description": "The bearer token is missing or wrong.",
				"headers": obj{
					"WWW-Authenticate": obj{"description": "The Bearer challenge (RFC 6750).", "schema": obj{"type": "string"}},
				},
				"content": jsonContent(schemaRef("Error")),
			},
			"PayloadTooLarge":      errorResponse("The body is larger than 1 MiB."),
			"UnsupportedMediaType": errorResponse("The body is not YAML or JSON, or it is compressed."),
			"NotImplemented":       errorResponse("This server was started without a way to add pipelines at run time."),
			"ServiceUnavailable":   errorResponse("The server is shutting down."),
		},
		"schemas": openAPISchemas(),
	}
}

func str(description string) obj {
	o := obj{"type": "string"}
	if description != "" {
		o["description"] = description
	}
	return o
}

func integer(description string) obj {
	o := obj{"type": "integer"}
	if description != "" {
		o["description"] = description
	}
	return o
}

func boolean(description string) obj {
	o := obj{"type": "boolean"}
	if description != "" {
		o["description"] = description
	}
	return o
}

func object(description string, required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if description != "" {
		o["description"] = description
	}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func enum(description string, values ...string) obj {
	return obj{"type": "string", "description": description, "enum": values}
}

// duration is how the config writes a time.Duration: a Go duration string.
func duration(description string) obj {
	return obj{"type": "string", "description": description + " A Go duration such as 200ms or 30s.", "example": "500ms"}
}

func openAPISchemas() obj {
	return obj{
		"Health": object("", []string{"status"}, obj{
			"status": obj{"type": "string", "enum": []string{"ok"}},
		}),
		"Error": object("Every error response has this shape.", []string{"error"}, obj{
			"error": str("A message for a person."),
			"field": str("Path of the field at fault, e.g. `source.uri`; absent when no single field is."),
			"errors": obj{
				"type":        "array",
				"description": "Every validation problem of a request body, in document order; the first is repeated in `error` and `field`. Absent for other errors.",
				"items":       schemaRef("FieldProblem"),
			},
		}),
		"FieldProblem": object("One validation problem of a request body.", []string{"error"}, obj{
			"error":  str(""),
			"field":  str("Field path."),
			"line":   integer("1-based line in the body."),
			"column": integer("1-based column in the body."),
		}),
		"State": obj{
			"type":        "string",
			"description": "starting → playing; on an error, retrying (backoff) → starting; stopped when asked or at the end of a non-looping file; failed when a restart cannot help.",
			"enum":        []string{"starting", "playing", "retrying", "stopped", "failed"},
		},
		"ReloadResult": object("What a reload changed.", []string{"added", "removed", "restarted", "unchanged"}, obj{
			"added":     obj{"type": "array", "items": obj{"type": "string"}},
			"removed":   obj{"type": "array", "items": obj{"type": "string"}},
			"restarted": obj{"type": "array", "items": obj{"type": "string"}},
			"unchanged": obj{"type": "array", "items": obj{"type": "string"}},
		}),
		"Detections": object("A pipeline's latest analysed frame.", []string{"pts", "frame", "time", "detections"}, obj{
			"pts":        integer("Presentation timestamp of the frame, in nanoseconds."),
			"frame":      integer("Index of the frame in the stream since the pipeline (re)started, from 0."),
			"time":       obj{"type": "string", "format": "date-time", "description": "When the frame left the pipeline."},
			"detections": obj{"type": "array", "items": schemaRef("Detection")},
		}),
		"Detection": object("One object in a frame, in frame pixels.", []string{"box", "class_id", "class", "score", "area"}, obj{
			"box":      obj{"type": "array", "items": obj{"type": "number"}, "minItems": 4, "maxItems": 4, "description": "[x, y, w, h]: top-left corner, width and height."},
			"class_id": integer("The model's class index."),
			"class":    str("The class name from the model's config, or the index as text."),
			"score":    obj{"type": "number", "description": "Confidence, 0 to 1."},
			"area":     integer("Size in frame pixels: mask pixels for mask models, box area for box models."),
			"contour":  obj{"type": "array", "items": obj{"type": "array", "items": obj{"type": "number"}}, "description": "Outline as [x, y] points, when the model gives masks and contours were asked for."},
		}),
		"Status": object("A snapshot of one pipeline.",
			[]string{"name", "state", "since", "decoder", "frames", "fps", "restarts", "last_error", "spec"},
			obj{
				"name":         str(""),
				"state":        schemaRef("State"),
				"since":        obj{"type": "string", "format": "date-time", "description": "When the pipeline entered its state."},
				"decoder":      str("Decoder element the last start chose, e.g. avdec_h264 or nvh264dec; empty before the stream's caps are known."),
				"frames":       obj{"type": "integer", "format": "int64", "minimum": 0, "description": "Frames decoded since the pipeline was added."},
				"fps":          obj{"type": "number", "format": "double", "description": "Recent decoded frames per second."},
				"bitrate_kbps": obj{"type": "number", "format": "double", "description": "Recent bitrate of the encoded stream as it arrives, in kbit/s."},
				"restarts":     integer("How often the pipeline was restarted after an error."),
				"last_error":   str("The last error; empty when there was none."),
				"next_retry":   obj{"type": "string", "format": "date-time", "description": "When a retrying pipeline starts again; absent otherwise."},
				"spec":         schemaRef("Pipeline"),
			}),
		"Pipeline": object("One pipeline, as in the config file's `pipelines:` list.", []string{"name", "source"}, obj{
			"name":      str("Unique name; used in URLs."),
			"source":    schemaRef("Source"),
			"decode":    enum("auto: NVDEC when the GPU has it, else software; nvdec: fail rather than fall back to the CPU; software: never use the GPU's decoder. Default auto.", "auto", "nvdec", "software"),
			"inference": schemaRef("Inference"),
			"outputs":   obj{"type": "array", "items": schemaRef("Output")},
			"restart":   schemaRef("Restart"),
		}),
		"Source": object("Where the video comes from.", []string{"type"}, obj{
			"type":      enum("synthetic is the generated demo pen; it needs no camera.", "rtsp", "file", "synthetic"),
			"uri":       str("rtsp:// or rtsps:// for rtsp; a path or file:// URI for file; unused for synthetic."),
			"loop":      boolean("Start a file source again at its end."),
			"transport": enum("For rtsp. auto tries UDP, then TCP. Default auto.", "auto", "tcp", "udp"),
			"latency":   duration("rtspsrc's jitter-buffer latency. Default 200ms."),
			"watchdog":  duration("Restart when no video frame came out for this long, even if the connection looks alive. Default 10s; 0 disables it."),
			"synthetic": schemaRef("Synthetic"),
		}),
		"Synthetic": object("The generated demo pen (source type synthetic).", nil, obj{
			"width":  integer("Default 640."),
			"height": integer("Default 480."),
			"fps":    integer("Default 15."),
			"pigs":   integer("4 to 12; default 8."),
			"seed":   obj{"type": "integer", "format": "int64", "description": "Default 1."},
		}),
		"Inference": object("Runs a model on the pipeline's frames.", nil, obj{
			"enabled":  boolean(""),
			"model":    str("Name of a model from the config's `models:`."),
			"interval": integer("Infer every Nth frame. Default 1."),
		}),
		"Output": object("One consumer of the stream.", nil, obj{
			"type":    enum("webrtc: browser viewers.", "webrtc"),
			"overlay": enum("For webrtc: data is sent on a DataChannel and drawn by the page; burn is drawn into the video. Default data.", "data", "burn"),
		}),
		"Restart": object("Bounds of the exponential backoff between restarts.", nil, obj{
			"backoff_min": duration("Default 500ms."),
			"backoff_max": duration("Default 30s."),
		}),
		"System": object("What this machine offers.", []string{"version", "gstreamer", "decoders", "nvdec", "onnxruntime"}, obj{
			"version":     str("pigweight's version."),
			"gstreamer":   str("GStreamer's version; empty when it could not be loaded."),
			"decoders":    obj{"type": "array", "items": schemaRef("Decoder")},
			"nvdec":       boolean("Whether an NVIDIA hardware decoder is available."),
			"onnxruntime": schemaRef("Runtime"),
		}),
		"Decoder": object("A decoder element and whether this machine has it.", []string{"name", "codec", "hardware", "available"}, obj{
			"name":      str("GStreamer element, e.g. nvh264dec or avdec_h264."),
			"codec":     obj{"type": "string", "enum": []string{"h264", "h265"}},
			"hardware":  boolean(""),
			"available": boolean(""),
		}),
		"Runtime": object("The ONNX Runtime library.", []string{"version", "providers"}, obj{
			"version":   str(""),
			"providers": obj{"type": "array", "items": schemaRef("Provider")},
			"error":     str("Why the library could not be loaded; absent when it was."),
		}),
		"Provider": object("An ONNX Runtime execution provider.", []string{"name", "usable"}, obj{
			"name":   str("tensorrt, cuda or cpu."),
			"usable": boolean("Whether a session could be created with it."),
			"error":  str("Why it is not usable; absent when it is."),
		}),
	}
}
