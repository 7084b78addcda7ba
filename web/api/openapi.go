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
				"stores uploaded videos and serves their exact frames, runs batch inference jobs on them, " +
				"and reports what the machine can decode and infer with. Every error is JSON of the Error schema. " +
				"When the server is configured with an API token, every request that is not GET, HEAD or OPTIONS " +
				"needs `Authorization: Bearer <token>`.",
		},
		"tags": []obj{
			{"name": "pipelines", "description": "Pipelines and their state."},
			{"name": "videos", "description": "Uploaded recordings and their exact frames."},
			{"name": "jobs", "description": "Batch inference over frame ranges of uploaded videos."},
			{"name": "weights", "description": "Pens, their pigs' visits and weights, check-weighs from a scale and the calibration they fit."},
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
	paths := pipelinePaths()
	for k, v := range videoPaths() {
		paths[k] = v
	}
	for k, v := range penPaths() {
		paths[k] = v
	}
	return paths
}

func pipelinePaths() obj {
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
					"refused). At most 1 MiB; the Content-Type may be absent. The pipeline is kept in the data " +
					"directory and starts again at the server's next start, until it is removed.",
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
				"description": "Stops the pipeline and forgets it until it is added again (a pipeline added through " +
					"the API also at the next start; one of the config file comes back at the next start or reload).",
				"security": bearer(),
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
			"VideoID": obj{
				"name":        "id",
				"in":          "path",
				"required":    true,
				"description": "The video's id: the first 16 hex digits of its SHA-256 (or the provisional `upload-…` id of an upload in flight).",
				"schema":      obj{"type": "string"},
			},
			"JobID": obj{
				"name":        "job",
				"in":          "path",
				"required":    true,
				"description": "The job's id.",
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
			"VideoNotFound":        errorResponse("There is no video of that id."),
			"JobNotFound":          errorResponse("There is no job of that id (the oldest finished jobs are forgotten)."),
			"VideoBusy":            errorResponse("The video is still uploading or being deleted."),
			"NoVideos":             errorResponse("The server has no video library, or it is shutting down."),
		},
		"schemas": withPenSchemas(openAPISchemas()),
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

func withPenSchemas(schemas obj) obj {
	for k, v := range penSchemas() {
		schemas[k] = v
	}
	return schemas
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
			"box":       obj{"type": "array", "items": obj{"type": "number"}, "minItems": 4, "maxItems": 4, "description": "[x, y, w, h]: top-left corner, width and height."},
			"class_id":  integer("The model's class index."),
			"class":     str("The class name from the model's config, or the index as text."),
			"score":     obj{"type": "number", "description": "Confidence, 0 to 1."},
			"area":      integer("Size in frame pixels: mask pixels for mask models, box area for box models."),
			"contour":   obj{"type": "array", "items": obj{"type": "array", "items": obj{"type": "number"}}, "description": "Outline as [x, y] points, when the model gives masks and contours were asked for."},
			"track":     integer("The pig's track id within its pipeline's run (absent for an unclaimed low-score detection)."),
			"weight_kg": number("The track's weight so far, the median of its good frames; absent while unknown."),
		}),
		"Status": object("A snapshot of one pipeline.",
			[]string{"name", "state", "since", "decoder", "frames", "fps", "restarts", "last_error", "origin", "spec", "viewers"},
			obj{
				"name":              str(""),
				"state":             schemaRef("State"),
				"since":             obj{"type": "string", "format": "date-time", "description": "When the pipeline entered its state."},
				"decoder":           str("Decoder element the last start chose, e.g. avdec_h264 or nvh264dec; empty before the stream's caps are known."),
				"frames":            obj{"type": "integer", "format": "int64", "minimum": 0, "description": "Frames through the pipeline since it was added: decoded and past the model (those dropped in front of a busy model count in inference_skipped instead)."},
				"fps":               obj{"type": "number", "format": "double", "description": "Recent frames per second through the pipeline (as frames); decoded frames/s = fps + the rate of inference_skipped."},
				"inference_skipped": obj{"type": "integer", "format": "int64", "minimum": 0, "description": "Decoded frames dropped before inference because it was behind."},
				"bitrate_kbps":      obj{"type": "number", "format": "double", "description": "Recent bitrate of the encoded stream as it arrives, in kbit/s."},
				"restarts":          integer("How often the pipeline was restarted after an error."),
				"last_error":        str("The last error; empty when there was none."),
				"next_retry":        obj{"type": "string", "format": "date-time", "description": "When a retrying pipeline starts again; absent otherwise."},
				"origin":            enum("Where the pipeline is defined: config (the configuration file, which brings it back at the next reload or start) or api (added through the API, kept for the next start until deleted).", "config", "api"),
				"spec":              schemaRef("Pipeline"),
				"viewers":           obj{"type": "integer", "minimum": 0, "description": "Browsers and WHEP players receiving the stream now."},
			}),
		"Pipeline": object("One pipeline, as in the config file's `pipelines:` list.", []string{"name", "source"}, obj{
			"name":      str("Unique name; used in URLs."),
			"source":    schemaRef("Source"),
			"decode":    enum("auto: NVDEC when the GPU has it and it can decode the stream (not 10-bit or 4:4:4 H.264, not H.265 under 144 pixels), else software; nvdec: fail rather than fall back to the CPU; software: never use the GPU's decoder. Default auto.", "auto", "nvdec", "software"),
			"inference": schemaRef("Inference"),
			"outputs":   obj{"type": "array", "items": schemaRef("Output")},
			"restart":   schemaRef("Restart"),
			"weight":    schemaRef("Weight"),
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
			"type":             enum("webrtc: browser viewers.", "webrtc"),
			"overlay":          enum("For webrtc: data is sent on a DataChannel and drawn by the page; burn is drawn into the video. Default data.", "data", "burn"),
			"encode":           enum("For webrtc: auto encodes only what browsers cannot play as it is (H.265, H.264 with B-frames, burn); always encodes every stream. Default auto.", "auto", "always"),
			"min_bitrate_kbps": integer("Lowest bitrate, kbit/s, of a stream pigweight encodes for viewers (H.265 cameras, B-frames, burn, encode: always); it follows the viewers' estimates. 0: 300."),
			"max_bitrate_kbps": integer("Highest bitrate, kbit/s, of such a stream; it starts here. 0: 2500."),
		}),
		"Restart": object("Bounds of the exponential backoff between restarts.", nil, obj{
			"backoff_min": duration("At least 100ms. Default 500ms."),
			"backoff_max": duration("At most 1h. Default 30s."),
		}),
		"System": object("What this machine offers.", []string{"version", "gstreamer", "decoders", "nvdec", "onnxruntime", "viewers", "process"}, obj{
			"version":     str("pigweight's version."),
			"gstreamer":   str("GStreamer's version; empty when it could not be loaded."),
			"decoders":    obj{"type": "array", "items": schemaRef("Decoder")},
			"nvdec":       boolean("Whether an NVIDIA hardware decoder is available."),
			"onnxruntime": schemaRef("Runtime"),
			"viewers":     schemaRef("ViewerCounts"),
			"process":     schemaRef("Process"),
		}),
		"Process": object("What the server process holds now: what grows if something leaks.", []string{"goroutines", "open_files", "rss_bytes"}, obj{
			"goroutines": integer("Go goroutines."),
			"open_files": integer("Open file descriptors, sockets included."),
			"rss_bytes":  integer("Resident memory, bytes."),
			"gstreamer_objects": obj{"type": "object", "additionalProperties": obj{"type": "integer"},
				"description": "By type, how many more GStreamer objects are alive than when the server started; only while GStreamer's leaks tracer runs (GST_TRACERS=leaks)."},
		}),
		"ViewerCounts": object("Browser viewers (WebSocket and WHEP together) against their caps.", []string{"now", "connecting", "max", "max_per_address", "refused", "reaped"}, obj{
			"now":             integer("Viewers held now, connected or not."),
			"connecting":      integer("Viewers among now whose connection is not up yet."),
			"max":             integer("The cap on all viewers (webrtc.max_viewers; when 0 in the configuration, derived from the open-file limit)."),
			"max_per_address": integer("The cap on the viewers of one client address (webrtc.max_viewers_per_address)."),
			"refused":         schemaRef("ViewersRefused"),
			"reaped":          integer("Viewers closed since the start for not connecting within webrtc.connect_timeout."),
		}),
		"ViewersRefused": object("Viewers refused since the start, by cap.", []string{"global", "per_address"}, obj{
			"global":      integer("Refused because the server held max viewers (WHEP: 503)."),
			"per_address": integer("Refused because the client's address held max_per_address viewers (WHEP: 429)."),
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
		"Video":        videoSchema(),
		"Job":          jobSchema(),
		"FrameResult":  frameResultSchema(),
		"InferRequest": inferRequestSchema(),
	}
}

// --- videos and jobs -------------------------------------------------------------------------

func videoPaths() obj {
	videoParam := []obj{{"$ref": "#/components/parameters/VideoID"}}
	jobParam := []obj{{"$ref": "#/components/parameters/JobID"}}
	videoJSON := func(description string) obj {
		return obj{"description": description, "content": jsonContent(schemaRef("Video")), "headers": obj{
			"Location": obj{"description": "URL of the video.", "schema": obj{"type": "string"}},
		}}
	}
	jobJSON := func(description string) obj {
		return obj{"description": description, "content": jsonContent(schemaRef("Job"))}
	}
	frameHeader := func(description, typ string) obj {
		return obj{"description": description, "schema": obj{"type": typ}}
	}
	return obj{
		"/api/v1/videos": obj{
			"get": obj{
				"operationId": "listVideos",
				"tags":        []string{"videos"},
				"summary":     "List videos",
				"description": "Stored videos and uploads in flight, newest first. An upload in flight has a provisional " +
					"`upload-…` id, state `uploading` (progress: bytes received of the announced size) then `indexing` " +
					"(progress: how far the indexer has read); poll this list to draw a progress bar.",
				"responses": obj{
					"200": obj{"description": "All videos.", "content": jsonContent(obj{"type": "array", "items": schemaRef("Video")})},
					"500": responseRef("InternalError"),
				},
			},
			"post": obj{
				"operationId": "uploadVideo",
				"tags":        []string{"videos"},
				"summary":     "Upload a video",
				"description": "Streams the file to disk (never into memory), checks its first bytes, indexes it, and stores it " +
					"under the first 16 hex digits of its SHA-256. MP4/MOV (also fragmented), MKV/WebM and MPEG-TS with H.264 " +
					"or H.265 are accepted; the container is told from the content, never from the name. Send multipart/form-data " +
					"with the file in the field `file`, or the file itself as application/octet-stream or video/* (name in " +
					"`?name=`). The same content uploaded again is not stored twice: the answer is then 200 with the existing " +
					"video. Whatever goes wrong, nothing of a refused upload is kept. The size limit is the server's " +
					"`max_upload_bytes`; a Content-Length over it is refused before the body is read.",
				"security": bearer(),
				"parameters": []obj{{
					"name": "name", "in": "query", "required": false, "schema": obj{"type": "string"},
					"description": "File name to show, for a raw body (multipart takes the part's file name). Display only.",
				}},
				"requestBody": obj{
					"required": true,
					"content": obj{
						"multipart/form-data": obj{"schema": object("", []string{"file"}, obj{
							"file": obj{"type": "string", "format": "binary"},
						})},
						"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}},
						"video/*":                  obj{"schema": obj{"type": "string", "format": "binary"}},
					},
				},
				"responses": obj{
					"201": videoJSON("Stored; the body is the new video."),
					"200": videoJSON("The same content was stored before; the body is that video."),
					"400": errorResponse("A malformed multipart body, no `file` field, or the upload was cut short."),
					"401": responseRef("Unauthorized"),
					"413": errorResponse("The file is larger than the server's upload limit."),
					"415": errorResponse("Not a video that can be indexed (a picture, text, audio, another codec), the reason in `error`; or a Content-Type that is neither multipart/form-data, application/octet-stream nor video/*, or a compressed body."),
					"422": errorResponse("The file is empty, or looks like a supported container but is corrupt or truncated; the reason in `error`."),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
		},
		"/api/v1/videos/{id}": obj{
			"parameters": videoParam,
			"get": obj{
				"operationId": "getVideo",
				"tags":        []string{"videos"},
				"summary":     "Get one video",
				"responses": obj{
					"200": obj{"description": "The video.", "content": jsonContent(schemaRef("Video"))},
					"404": responseRef("VideoNotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
			"delete": obj{
				"operationId": "deleteVideo",
				"tags":        []string{"videos"},
				"summary":     "Delete a video",
				"description": "Removes the file, its metadata and its index. Jobs running on the video are cancelled first.",
				"security":    bearer(),
				"responses": obj{
					"204": obj{"description": "Deleted."},
					"401": responseRef("Unauthorized"),
					"404": responseRef("VideoNotFound"),
					"409": responseRef("VideoBusy"),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
		},
		"/api/v1/videos/{id}/frames/{n}": obj{
			"parameters": append(videoParam, obj{
				"name": "n", "in": "path", "required": true, "schema": obj{"type": "integer", "minimum": 0},
				"description": "Frame number: 0-based, in presentation order (ffmpeg's numbering for `-map 0:v:0 -fps_mode passthrough`).",
			}),
			"get": obj{
				"operationId": "getVideoFrame",
				"tags":        []string{"videos"},
				"summary":     "Exact frame of a video",
				"description": "Decodes exactly frame n. The frame of a content-addressed video never changes, so the answer " +
					"may be cached.",
				"parameters": []obj{
					{"name": "format", "in": "query", "required": false, "description": "jpeg (default), png, or raw: the " +
						"decoder's planes back to back, each row exactly its samples (for I420: Y, then U, then V; " +
						"width*height*3/2 bytes).", "schema": obj{"type": "string", "enum": []string{"jpeg", "png", "raw"}, "default": "jpeg"}},
					{"name": "quality", "in": "query", "required": false, "description": "JPEG quality.",
						"schema": obj{"type": "integer", "minimum": 1, "maximum": 100, "default": 90}},
				},
				"responses": obj{
					"200": obj{
						"description": "The frame.",
						"headers": obj{
							"X-Frame-Number": frameHeader("The frame's number.", "integer"),
							"X-Frame-PTS":    frameHeader("The frame's presentation time from the start of the video, in seconds.", "number"),
							"X-Frame-Width":  frameHeader("Width in pixels.", "integer"),
							"X-Frame-Height": frameHeader("Height in pixels.", "integer"),
							"X-Pixel-Format": frameHeader("The decoder's pixel format, as GStreamer names it (I420, ...): the layout of format=raw.", "string"),
							"X-Frame-Cache":  frameHeader("hit when the frame came from the decoded-frame cache, miss when it was decoded.", "string"),
							"Cache-Control":  frameHeader("private, max-age=3600.", "string"),
						},
						"content": obj{
							"image/jpeg":               obj{"schema": obj{"type": "string", "format": "binary"}},
							"image/png":                obj{"schema": obj{"type": "string", "format": "binary"}},
							"application/octet-stream": obj{"schema": obj{"type": "string", "format": "binary"}},
						},
					},
					"400": errorResponse("n or quality is not written in plain decimal digits (no sign, spaces or point), or format or quality is invalid."),
					"404": errorResponse("No such video, or n is not below its frame count."),
					"409": responseRef("VideoBusy"),
					"422": errorResponse("The frame's pixel format cannot be encoded as JPEG or PNG (8-bit and 10-bit YUV and grey can; without the server's GStreamer encoders, 8-bit only); format=raw still works."),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
					"504": errorResponse("Decoding took too long."),
				},
			},
		},
		"/api/v1/videos/{id}/infer": obj{
			"parameters": videoParam,
			"post": obj{
				"operationId": "startJob",
				"tags":        []string{"jobs"},
				"summary":     "Run a model over frames of a video",
				"description": "Queues a job that analyses frames from, from+step, ... up to to (inclusive). Jobs run one at a " +
					"time by default; poll the job for progress and results. The body may be empty: every frame with the " +
					"default model.",
				"security": bearer(),
				"requestBody": obj{
					"required": false,
					"content":  jsonContent(schemaRef("InferRequest")),
				},
				"responses": obj{
					"202": obj{
						"description": "Queued; the body is the job.",
						"headers":     obj{"Location": obj{"description": "URL of the job.", "schema": obj{"type": "string"}}},
						"content":     jsonContent(schemaRef("Job")),
					},
					"400": errorResponse("A bad range or step, more than 100000 frames, an unknown model, or a body that is not such JSON."),
					"401": responseRef("Unauthorized"),
					"404": responseRef("VideoNotFound"),
					"409": responseRef("VideoBusy"),
					"415": errorResponse("The body is not JSON, or it is compressed."),
					"429": errorResponse("Too many jobs are queued or running; wait for some to finish."),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
		},
		"/api/v1/jobs": obj{
			"get": obj{
				"operationId": "listJobs",
				"tags":        []string{"jobs"},
				"summary":     "List jobs",
				"description": "Queued, running and recently finished jobs (kept across restarts: the last 100 finished, and those stopped by a shutdown, which resume), newest first, without results.",
				"responses": obj{
					"200": obj{"description": "All jobs.", "content": jsonContent(obj{"type": "array", "items": schemaRef("Job")})},
					"500": responseRef("InternalError"),
				},
			},
		},
		"/api/v1/jobs/{job}": obj{
			"parameters": jobParam,
			"get": obj{
				"operationId": "getJob",
				"tags":        []string{"jobs"},
				"summary":     "Get a job with its results",
				"description": "The job with `results` for every frame analysed so far (present, possibly empty).",
				"responses": obj{
					"200": jobJSON("The job."),
					"404": responseRef("JobNotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
			"delete": obj{
				"operationId": "cancelJob",
				"tags":        []string{"jobs"},
				"summary":     "Cancel a job",
				"description": "Asks a queued or running job to stop; it reaches state cancelled as soon as the frame in " +
					"progress is abandoned, and stays listed with the results it had. A finished job is left as it is.",
				"security": bearer(),
				"responses": obj{
					"200": jobJSON("The job, without results, right after the request."),
					"401": responseRef("Unauthorized"),
					"404": responseRef("JobNotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
		},
		"/api/v1/jobs/{job}/results.csv": obj{
			"parameters": jobParam,
			"get": obj{
				"operationId": "getJobCSV",
				"tags":        []string{"jobs"},
				"summary":     "A job's detections as CSV",
				"description": "One row per detection, as far as the job has got (X-Job-State says whether it is done): " +
					"`frame,pts_s,class,score,x,y,w,h,area`, box in frame pixels with x, y its top-left corner.",
				"responses": obj{
					"200": obj{
						"description": "The CSV, as an attachment.",
						"headers": obj{
							"Content-Disposition": obj{"description": "attachment; filename=\"job-<id>.csv\"", "schema": obj{"type": "string"}},
							"X-Job-State":         obj{"description": "The job's state when the CSV was made.", "schema": obj{"type": "string"}},
						},
						"content": obj{"text/csv": obj{"schema": obj{"type": "string"}}},
					},
					"404": responseRef("JobNotFound"),
					"500": responseRef("InternalError"),
					"503": responseRef("NoVideos"),
				},
			},
		},
	}
}

func number(description string) obj {
	return obj{"type": "number", "format": "double", "description": description}
}

func videoSchema() obj {
	return object("A stored video, or an upload in flight.",
		[]string{"id", "name", "bytes", "created", "container", "codec", "width", "height", "frames", "keyframes", "duration_s", "fps", "index_build_ms", "state", "progress"},
		obj{
			"id":             str("First 16 hex digits of the content's SHA-256; `upload-…` while uploading."),
			"name":           str("The uploaded file's name, for display only."),
			"sha256":         str("Hex SHA-256 of the content; absent while uploading."),
			"bytes":          obj{"type": "integer", "format": "int64", "description": "Size; bytes received so far while uploading."},
			"created":        obj{"type": "string", "format": "date-time"},
			"container":      obj{"type": "string", "enum": []string{"mp4", "mkv", "mpegts", ""}, "description": "Empty while uploading."},
			"codec":          obj{"type": "string", "enum": []string{"h264", "h265", ""}, "description": "Empty while uploading."},
			"width":          integer(""),
			"height":         integer(""),
			"frames":         integer("Frames shown; frame numbers run from 0 to frames-1."),
			"keyframes":      integer("Sync samples."),
			"duration_s":     number("From the first frame to the end of the last, in seconds."),
			"fps":            number("Mean frame rate: frames / duration_s."),
			"index_build_ms": obj{"type": "integer", "format": "int64", "description": "How long indexing took."},
			"state":          obj{"type": "string", "enum": []string{"uploading", "indexing", "ready"}},
			"progress":       number("0 to 1 within the state: bytes received of the announced size, then how far the indexer has read; 1 when ready."),
		})
}

func jobSchema() obj {
	return object("A batch inference job.",
		[]string{"id", "video", "model", "from", "to", "step", "state", "done", "total", "progress", "created"},
		obj{
			"id":       str(""),
			"video":    str("The video's id."),
			"model":    str(""),
			"from":     integer("First frame."),
			"to":       integer("Last frame, inclusive."),
			"step":     integer(""),
			"state":    obj{"type": "string", "enum": []string{"queued", "running", "done", "failed", "cancelled"}},
			"done":     integer("Frames analysed."),
			"total":    integer("Frames to analyse."),
			"progress": number("done / total."),
			"created":  obj{"type": "string", "format": "date-time"},
			"started":  obj{"type": "string", "format": "date-time", "description": "Absent while queued."},
			"finished": obj{"type": "string", "format": "date-time", "description": "Absent until done, failed or cancelled."},
			"error":    str("Why the job failed or was cancelled."),
			"results":  obj{"type": "array", "items": schemaRef("FrameResult"), "description": "Per analysed frame, in order; only from GET /api/v1/jobs/{job}."},
		})
}

func frameResultSchema() obj {
	return object("What the model found in one frame.", []string{"frame", "pts_s", "detections"}, obj{
		"frame":      integer(""),
		"pts_s":      number("Presentation time from the start of the video, in seconds."),
		"detections": obj{"type": "array", "items": schemaRef("Detection")},
	})
}

func inferRequestSchema() obj {
	return object("Which frames to analyse, with which model; every field may be left out.", nil, obj{
		"model": str("A model name; default: the server's default model."),
		"from":  obj{"type": "integer", "minimum": 0, "description": "First frame; default 0."},
		"to":    obj{"type": "integer", "minimum": -1, "description": "Last frame, inclusive; default (or -1): the video's last frame."},
		"step":  obj{"type": "integer", "minimum": 1, "description": "Analyse every step-th frame; default 1."},
	})
}
