// Package signaling speaks pigweight's WebSocket signalling protocol (GET /ws) and runs one
// session per socket.
//
// Every message is a JSON text frame:
//
//	{"type": "join"|"offer"|"answer"|"candidate"|"leave"|"error",
//	 "stream": "...", "id": "...", "sdp": "...", "error": "...",
//	 "candidate": {"candidate": "...", "sdpMid": "...", "sdpMLineIndex": 0, "usernameFragment": "..."}}
//
// The browser sends join {stream}; the server creates a viewer of that stream and answers
// offer {stream, id, sdp}; the browser sends answer {id, sdp}; both sides trickle
// candidate {id, candidate} (an empty candidate string marks the end of gathering, as in
// RTCPeerConnection.addIceCandidate); leave {id} ends one viewer. One socket carries several
// viewers, told apart by the id the server gives each. A request the server cannot honour gets
// error {error, id?, stream?} and the socket stays up; a protocol violation (a binary frame, a
// message over the size limit) closes it with the matching close code (1003, 1009).
//
// Viewers are bounded across sockets (Config.Admission: in all, and per client address): a
// join over a cap gets error {stream, error} naming the cap and the setting that raises it. A
// viewer whose peer connection has not connected within Config.ConnectTimeout is closed and the
// client gets error {id, stream, "not connected within 15s"}; one that ends by itself (its
// connection failed or closed, its stream stopped) gets error {id, stream, "viewer ended: ..."}.
//
// The server never sends a candidate of a viewer before that viewer's offer: Pion gathers on
// its own goroutines, so candidates can arrive before Join has returned the offer; they wait
// in the session until the offer has been queued.
//
// gorilla/websocket needs http.Hijacker, which Fiber's fasthttp lacks, so Handler is a net/http
// handler that the web package mounts beside the Fiber app. The WebRTC side stays behind the
// small Viewers interface declared here; the wiring adapts the fan-out and peer packages to it.
package signaling
