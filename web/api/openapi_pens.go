package api

import "strconv"

// penPaths describes /api/v1/pens: weights, visits, check-weighs and calibration.
func penPaths() obj {
	penParam := []obj{{
		"name": "pen", "in": "path", "required": true, "schema": obj{"type": "string"},
		"description": "The pen's name: a pipeline's `weight.pen`, or the pipeline's name when it names none.",
	}}
	visitsParams := []obj{
		{"name": "from", "in": "query", "required": false, "schema": obj{"type": "string", "format": "date-time"},
			"description": "Only visits that end at or after this time (RFC 3339). Default: no bound."},
		{"name": "to", "in": "query", "required": false, "schema": obj{"type": "string", "format": "date-time"},
			"description": "Only visits that start before this time (RFC 3339). Default: no bound."},
		{"name": "limit", "in": "query", "required": false,
			"schema":      obj{"type": "integer", "minimum": 1, "maximum": MaxVisitsLimit, "default": DefaultVisitsLimit},
			"description": "At most this many visits, the earliest first."},
	}
	penMissing := errorResponse("No pipeline weighs the pen and nothing of it is stored.")
	noWeighing := errorResponse("The server weighs no pigs (it was started without a store).")
	return obj{
		"/api/v1/pens": obj{
			"get": obj{
				"operationId": "listPens",
				"tags":        []string{"weights"},
				"summary":     "List pens",
				"description": "Every pen weighed now or with visits or check-weighs stored: its pipelines, its law and its estimators' counts, including the masks each quality gate refused.",
				"responses": obj{
					"200": obj{"description": "The pens, by name.", "content": jsonContent(obj{"type": "array", "items": schemaRef("PenStatus")})},
					"500": responseRef("InternalError"),
				},
			},
		},
		"/api/v1/pens/{pen}/visits": obj{
			"parameters": penParam,
			"get": obj{
				"operationId": "listVisits",
				"tags":        []string{"weights"},
				"summary":     "List a pen's visits",
				"description": "Each visit is one pig's stretch in view, with the median weight of its good frames. Weights are given with the pen's calibration now, so a check-weigh corrects the past visits too. Visits still going on (the pig is in view) are not listed yet.",
				"parameters": append(visitsParams, obj{
					"name": "path", "in": "query", "required": false, "schema": obj{"type": "boolean", "default": false},
					"description": "Include each visit's path (where the pig was, about every second).",
				}),
				"responses": obj{
					"200": obj{"description": "The visits, earliest first.", "content": jsonContent(obj{"type": "array", "items": schemaRef("Visit")})},
					"400": responseRef("BadRequest"),
					"404": penMissing,
					"500": responseRef("InternalError"),
					"503": noWeighing,
				},
			},
		},
		"/api/v1/pens/{pen}/visits.csv": obj{
			"parameters": penParam,
			"get": obj{
				"operationId": "visitsCSV",
				"tags":        []string{"weights"},
				"summary":     "A pen's visits as CSV",
				"description": "The same visits as CSV, one row each: " + csvColumns() + ". Times are RFC 3339 in UTC; an unknown weight is empty.",
				"parameters":  visitsParams,
				"responses": obj{
					"200": obj{"description": "CSV with a header row.", "content": obj{"text/csv": obj{"schema": obj{"type": "string"}}}},
					"400": responseRef("BadRequest"),
					"404": penMissing,
					"500": responseRef("InternalError"),
					"503": noWeighing,
				},
			},
		},
		"/api/v1/pens/{pen}/checkweighs": obj{
			"parameters": penParam,
			"get": obj{
				"operationId": "listCheckWeighs",
				"tags":        []string{"weights"},
				"summary":     "List a pen's check-weighs",
				"responses": obj{
					"200": obj{"description": "The readings, oldest first.", "content": jsonContent(obj{"type": "array", "items": schemaRef("StoredCheckWeigh")})},
					"404": penMissing,
					"500": responseRef("InternalError"),
					"503": noWeighing,
				},
			},
			"post": obj{
				"operationId": "addCheckWeigh",
				"tags":        []string{"weights"},
				"summary":     "Add a scale reading",
				"description": "One pig (`weight_kg` and the `box` where it stood in the camera's frame at `time`), matched to the visit at that place and time; or a group weighed at once (`weights_kg`), matched to the distribution of the visits within 12 hours. The pen's law W = a·A^b is then refitted from all its readings (a alone while they are few or their areas span little) and used from then on, and for the past visits' weights. A pig is matched once its visit has ended: a reading of a pig still in view is refused (422) and can be sent again once it has left.",
				"security":    bearer(),
				"requestBody": obj{"required": true, "content": jsonContent(schemaRef("CheckWeigh"))},
				"responses": obj{
					"201": obj{"description": "Stored; the pen's law after it.", "content": jsonContent(schemaRef("CheckWeighResult"))},
					"400": errorResponse("Not a valid reading: malformed JSON, an unknown field, a weight outside 1–400 kg, no time, or a time in the future; the reason in `error`."),
					"401": responseRef("Unauthorized"),
					"404": penMissing,
					"413": responseRef("PayloadTooLarge"),
					"415": errorResponse("The body is not JSON, or it is compressed."),
					"422": errorResponse("The reading matches no pig: no visit was at that place at that time, or too few visits for a group."),
					"500": responseRef("InternalError"),
					"503": noWeighing,
				},
			},
		},
		"/api/v1/pens/{pen}/calibration": obj{
			"parameters": penParam,
			"get": obj{
				"operationId": "getCalibration",
				"tags":        []string{"weights"},
				"summary":     "A pen's calibration",
				"description": "The law the pen uses now, how it was fitted (readings, residuals, method) and every fit before it.",
				"responses": obj{
					"200": obj{"description": "The calibration.", "content": jsonContent(schemaRef("PenCalibration"))},
					"404": penMissing,
					"500": responseRef("InternalError"),
					"503": noWeighing,
				},
			},
		},
	}
}

func csvColumns() string {
	s := ""
	for i, c := range VisitsCSVHeader {
		if i > 0 {
			s += ", "
		}
		s += "`" + c + "`"
	}
	return s
}

func box(description string) obj {
	return obj{"type": "array", "items": obj{"type": "number"}, "minItems": 4, "maxItems": 4, "description": description}
}

func dateTime(description string) obj {
	return obj{"type": "string", "format": "date-time", "description": description}
}

// penSchemas are the schemas of the weights: the pipeline's weight section and what the pens
// routes answer.
func penSchemas() obj {
	calibrationProps := obj{
		"a":         number("Coefficient of W = a·A^b (kg, m²)."),
		"b":         number("Exponent of W = a·A^b."),
		"readings":  integer("How many check-weigh weights the fit used; 0 for the literature's default."),
		"residuals": obj{"type": "array", "items": obj{"type": "number"}, "description": "The fit's relative errors (estimate/scale − 1), one per reading."},
		"method":    enum("How the law was fitted.", "default", "a only", "a and b"),
	}
	fitted := obj{}
	for k, v := range calibrationProps {
		fitted[k] = v
	}
	fitted["id"] = integer("")
	fitted["pen"] = str("")
	fitted["fitted_at"] = dateTime("When the fit was saved.")
	visitProps := obj{
		"id":          integer("The visit's id in the store."),
		"pipeline":    str("The pipeline whose camera saw it."),
		"pen":         str(""),
		"track":       integer("The track id within its pipeline's run."),
		"start":       dateTime("Its first detection (capture time; for a synthetic pen that grows, simulated time)."),
		"end":         dateTime("Its last detection."),
		"weight_kg":   number("Median weight of its good frames with the pen's calibration now; 0 when it had too few good frames."),
		"area_m2":     number("Median floor area of its good frames, corrected for the camera and the back's height."),
		"frames":      integer("Frames the pig was detected in."),
		"good_frames": integer("Frames that passed every quality gate."),
		"time":        dateTime("One of its good frames (nearest the median), with box: so anyone can match the visit to a pig."),
		"box":         box("Where the pig was at `time`: [x, y, w, h] in frame pixels."),
		"path":        obj{"type": "array", "items": schemaRef("PathPoint"), "description": "Where the pig was, about every second (only with ?path=true)."},
	}
	gates := obj{}
	for _, g := range []string{"score", "roi", "edge", "shape", "area", "lying"} {
		gates[g] = integer("Masks refused by the " + strconv.Quote(g) + " gate.")
	}
	return obj{
		"Weight": object("How the pipeline's pigs are weighed.", nil, obj{
			"pen":                 str("The pen its visits join. Default: the pipeline's name; several cameras on one pen name the same pen."),
			"camera":              schemaRef("WeightCamera"),
			"roi":                 box("The part of the frame that is the pen, [x, y, w, h] in frame pixels; pigs centred outside it are not weighed, those cut by its edge neither. Default: the whole frame."),
			"min_good_frames":     integer("Good frames a visit needs for a weight. Default 5."),
			"min_score":           number("Detection score below which a mask is refused, and that a detection needs to start a track. Default 0.5."),
			"edge_margin_px":      number("How close a box may come to the frame's or the ROI's edge before the pig counts as cut. Default 2."),
			"track_memory_frames": integer("Frames in a row a track may go unseen before its visit ends. Default 15."),
		}),
		"WeightCamera": object("The camera's geometry: height and field of view (perspective and back height corrected), or pixels per metre alone (no correction), or pixels per metre and height.", nil, obj{
			"height_m":         number("Lens height above the floor, metres. Default 3.0."),
			"fov_deg":          number("Angle the frame's width spans, degrees. Default 90; not with pixels_per_metre."),
			"pixels_per_metre": number("The floor's scale in frame pixels per metre."),
		}),
		"Visit":     object("One pig's stretch in view.", []string{"id", "pen", "track", "start", "end", "weight_kg", "frames", "good_frames"}, visitProps),
		"PathPoint": object("Where a pig was at one time.", []string{"time", "box"}, obj{"time": dateTime(""), "box": box("[x, y, w, h] in frame pixels.")}),
		"CheckWeigh": object("A scale reading: one pig (weight_kg with box) or a group (weights_kg).", []string{"time"}, obj{
			"time":       dateTime("When the scale read (RFC 3339); not in the future."),
			"weight_kg":  number("One pig's weight, 1 to 400 kg."),
			"box":        box("Where that pig stood in the camera's frame at `time`, [x, y, w, h]."),
			"weights_kg": obj{"type": "array", "items": obj{"type": "number"}, "description": "The weights of a group weighed at once, each 1 to 400 kg."},
		}),
		"StoredCheckWeigh": object("A check-weigh as stored.", []string{"id", "pen", "time", "created_at"}, obj{
			"id":         integer(""),
			"pen":        str(""),
			"time":       dateTime("When the scale read."),
			"weight_kg":  number("One pig's weight."),
			"box":        box("Where it stood."),
			"weights_kg": obj{"type": "array", "items": obj{"type": "number"}, "description": "A group's weights."},
			"matched":    obj{"type": "array", "items": obj{"type": "integer"}, "description": "The visit a single-pig reading was matched to."},
			"created_at": dateTime("When the reading was stored."),
		}),
		"CheckWeighResult": object("A stored reading and the pen's law after it.", []string{"checkweigh", "calibration"}, obj{
			"checkweigh":  schemaRef("StoredCheckWeigh"),
			"calibration": schemaRef("Calibration"),
		}),
		"Calibration":       object("A pen's law W = a·A^b and how it was fitted.", []string{"a", "b", "readings", "method"}, calibrationProps),
		"FittedCalibration": object("One fit of a pen's history.", []string{"id", "pen", "a", "b", "readings", "method", "fitted_at"}, fitted),
		"PenCalibration": object("A pen's law now and every fit before it.", []string{"pen", "calibration", "history"}, obj{
			"pen":         str(""),
			"calibration": schemaRef("Calibration"),
			"fitted_at":   dateTime("When the law now in use was fitted; absent for the default."),
			"history":     obj{"type": "array", "items": schemaRef("FittedCalibration")},
		}),
		"PenStatus": object("A pen: who weighs it, its law, its estimators' counts.", []string{"pen", "pipelines", "calibration", "estimators"}, obj{
			"pen":         str(""),
			"pipelines":   obj{"type": "array", "items": obj{"type": "string"}, "description": "Pipelines weighing the pen now."},
			"calibration": schemaRef("Calibration"),
			"estimators":  schemaRef("EstimatorStats"),
		}),
		"EstimatorStats": object("Counts of the pen's running estimators since their runs started.", nil, obj{
			"frames":                integer("Frames observed."),
			"masks":                 integer("Detections in them."),
			"good":                  integer("Masks that passed every gate."),
			"rejected":              schemaRef("GateCounts"),
			"visits":                integer("Visits ended."),
			"visits_without_weight": integer("Visits ended with too few good frames for a weight."),
			"tracks":                integer("Tracks open now."),
		}),
		"GateCounts": object("Masks refused, by quality gate.", nil, gates),
	}
}
