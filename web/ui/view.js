// pigweight live view: plays /view/{stream} over WebRTC (signalling on /ws, the server offers)
// and draws the stream's detections, which arrive on the "detections" DataChannel, over the
// very frame they were computed for: each message carries the frame's RTP timestamp, which
// requestVideoFrameCallback reports for every presented frame.
//
// window.pigweight exposes what the page drew and measured, for tests and for debugging.
'use strict';

(() => {
  const stream = decodeURIComponent(location.pathname.replace(/^\/view\//, '').replace(/\/+$/, ''));
  const video = document.getElementById('video');
  const canvas = document.getElementById('overlay');
  const ctx2d = canvas.getContext('2d');
  const text = (id, value) => { document.getElementById(id).textContent = value; };

  // How many detection messages are kept, by RTP timestamp: a few seconds of frames, so that a
  // frame the jitter buffer held back still finds its boxes.
  const keepMessages = 120;
  const recent = new Map();

  const state = {
    stream,
    connected: false,
    messages: 0,       // detection messages received
    framesPresented: 0,
    framesMatched: 0,  // presented frames whose detections were there
    lastFrame: null,   // {rtp, width, height} of the newest presented frame
    lastDrawn: null,   // {rtp, videoRtp, pts, frame, width, height, boxes: [{x, y, w, h, class, score, track, weightKg, label}]}
    drawnCount: 0,     // frames drawn with their own detections
    stats: null,       // the last getStats sample, see sampleStats
    viewers: null,     // viewers of the stream, this page included, from the API; null when unknown
    // Glass-to-glass latency: from the frame reaching the server to this screen showing it.
    // offset is the server's clock minus ours (ms), from the ping with the shortest round trip.
    clock: { offset: null, rtt: null },
    latency: { p50: null, p95: null, samples: 0 },
    latencyLog: [],    // every measured latency (ms), the newest 10000, for benchmarks
    firstFrameMs: null, // when the first frame was shown, ms after the page began loading
    pc: null,
    reconnects: 0,     // sessions joined after the first (see connect)
  };
  window.pigweight = state;

  text('title', stream);
  document.title = 'pigweight: ' + stream;
  const setState = (s) => text('state', s);

  // Drawing.

  // The video's picture inside the element (object-fit: contain), in CSS pixels.
  function pictureRect(frameW, frameH) {
    const cw = video.clientWidth, ch = video.clientHeight;
    const scale = Math.min(cw / frameW, ch / frameH);
    const w = frameW * scale, h = frameH * scale;
    return { x: (cw - w) / 2, y: (ch - h) / 2, scale };
  }

  function draw(msg, videoRtp, frameW, frameH) {
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.round(canvas.clientWidth * dpr), ch = Math.round(canvas.clientHeight * dpr);
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
    }
    ctx2d.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx2d.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
    if (!frameW || !frameH) {
      return;
    }
    const r = pictureRect(frameW, frameH);
    const boxes = [];
    ctx2d.lineWidth = 2;
    ctx2d.font = '12px system-ui, sans-serif';
    ctx2d.textBaseline = 'bottom';
    for (const d of msg.detections || []) {
      // The API's box: [x, y, w, h] in frame pixels.
      if (!Array.isArray(d.box) || d.box.length !== 4) {
        continue;
      }
      const b = { x: Number(d.box[0]), y: Number(d.box[1]), w: Number(d.box[2]), h: Number(d.box[3]) };
      const x = r.x + b.x * r.scale, y = r.y + b.y * r.scale;
      const w = b.w * r.scale, h = b.h * r.scale;
      ctx2d.strokeStyle = '#3ddc84';
      ctx2d.strokeRect(x, y, w, h);
      // Canvas text is drawn, never parsed: class names from the model are safe here. A pig
      // the estimator has weighed shows its weight (what the farmer looks for), else its class.
      const kg = Number(d.weight_kg) > 0 ? Number(d.weight_kg) : 0;
      const label = kg > 0 ? kg.toFixed(1) + ' kg' : String(d.class) + ' ' + Math.round((d.score || 0) * 100) + '%';
      const tw = ctx2d.measureText(label).width + 6;
      ctx2d.fillStyle = 'rgba(20, 23, 28, 0.75)';
      ctx2d.fillRect(x, Math.max(0, y - 16), tw, 16);
      ctx2d.fillStyle = '#3ddc84';
      ctx2d.fillText(label, x + 3, Math.max(16, y));
      boxes.push({ x: b.x, y: b.y, w: b.w, h: b.h, class: String(d.class), score: d.score, track: d.track || 0, weightKg: kg, label });
    }
    state.drawnCount++;
    state.lastDrawn = { rtp: msg.rtp, videoRtp, pts: msg.pts, frame: msg.frame, width: frameW, height: frameH, boxes };
  }

  // Each presented frame: draw its own detections. Inference usually finishes after the frame
  // is on screen; then the message draws when it arrives (onDetections), if the frame is still
  // the one shown. Until then the previous boxes stay rather than flicker.
  function onVideoFrame(now, meta) {
    state.framesPresented++;
    if (state.firstFrameMs === null) {
      state.firstFrameMs = meta.expectedDisplayTime;
    }
    measureLatency(meta);
    state.lastFrame = { rtp: meta.rtpTimestamp, width: meta.width, height: meta.height };
    const msg = recent.get(meta.rtpTimestamp);
    if (msg) {
      state.framesMatched++;
      draw(msg, meta.rtpTimestamp, meta.width, meta.height);
    }
    video.requestVideoFrameCallback(onVideoFrame);
  }

  function onDetections(ev) {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg.type === 'pong' || msg.type === 'time') {
      onClock(msg);
      return;
    }
    if (typeof msg.rtp !== 'number') {
      return;
    }
    state.messages++;
    recent.set(msg.rtp, msg);
    while (recent.size > keepMessages) {
      recent.delete(recent.keys().next().value);
    }
    const f = state.lastFrame;
    if (f && f.rtp === msg.rtp && (!state.lastDrawn || state.lastDrawn.rtp !== msg.rtp)) {
      state.framesMatched++;
      draw(msg, f.rtp, f.width, f.height);
    }
  }

  // Latency. The server says when some frames reached it ({type: time, rtp, captured}, Unix ms)
  // and answers pings with its clock; the page adds the offset between the clocks (half the
  // round trip, from the quickest of the recent pings) to the moment a frame is shown.
  const captured = new Map(); // rtp → Unix ms at the server
  const latencies = [];       // the last 30, ms
  const pings = [];           // the last 10 {rtt, offset}

  function onClock(msg) {
    if (msg.type === 'time' && typeof msg.rtp === 'number' && typeof msg.captured === 'number') {
      captured.set(msg.rtp, msg.captured);
      while (captured.size > 64) {
        captured.delete(captured.keys().next().value);
      }
    } else if (msg.type === 'pong' && typeof msg.t === 'number' && typeof msg.server === 'number') {
      const back = performance.timeOrigin + performance.now();
      pings.push({ rtt: back - msg.t, offset: msg.server - (msg.t + back) / 2 });
      if (pings.length > 10) {
        pings.shift();
      }
      const best = pings.reduce((a, b) => (b.rtt < a.rtt ? b : a));
      state.clock = { offset: best.offset, rtt: best.rtt };
    }
  }

  function measureLatency(meta) {
    const at = captured.get(meta.rtpTimestamp);
    if (at === undefined || state.clock.offset === null) {
      return;
    }
    captured.delete(meta.rtpTimestamp);
    // expectedDisplayTime: when the compositor puts this frame on screen (ms since timeOrigin).
    const shown = performance.timeOrigin + meta.expectedDisplayTime + state.clock.offset;
    latencies.push(shown - at);
    if (latencies.length > 30) {
      latencies.shift();
    }
    state.latencyLog.push(shown - at);
    if (state.latencyLog.length > 10000) {
      state.latencyLog.shift();
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    state.latency = { p50: pick(0.5), p95: pick(0.95), samples: state.latency.samples + 1 };
  }

  let detectionsChannel = null;
  setInterval(() => {
    if (detectionsChannel && detectionsChannel.readyState === 'open') {
      detectionsChannel.send(JSON.stringify({ type: 'ping', t: performance.timeOrigin + performance.now() }));
    }
  }, 1000);

  if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) {
    video.requestVideoFrameCallback(onVideoFrame);
  } else {
    setState('this browser cannot match detections to frames (no requestVideoFrameCallback)');
  }

  // Statistics, once a second.
  let previous = null;
  async function sampleStats() {
    if (!state.pc) {
      return;
    }
    const report = await state.pc.getStats();
    let inbound = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        inbound = s;
      }
    });
    if (!inbound) {
      return;
    }
    const sample = {
      at: inbound.timestamp,
      framesDecoded: inbound.framesDecoded || 0,
      bytesReceived: inbound.bytesReceived || 0,
      jitterBufferMs: inbound.jitterBufferEmittedCount
        ? 1000 * inbound.jitterBufferDelay / inbound.jitterBufferEmittedCount : null,
      fps: null,
      kbps: null,
    };
    if (previous && sample.at > previous.at) {
      const dt = (sample.at - previous.at) / 1000;
      sample.fps = (sample.framesDecoded - previous.framesDecoded) / dt;
      sample.kbps = 8 * (sample.bytesReceived - previous.bytesReceived) / dt / 1000;
    }
    previous = sample;
    state.stats = sample;
    text('stat-fps', sample.fps === null ? '–' : sample.fps.toFixed(1));
    text('stat-bitrate', sample.kbps === null ? '–' : sample.kbps.toFixed(0) + ' kbit/s');
    text('stat-jitter', sample.jitterBufferMs === null ? '–' : sample.jitterBufferMs.toFixed(1) + ' ms');
    text('stat-frames', String(sample.framesDecoded));
    text('stat-detections', state.messages + ' messages, ' + state.framesMatched + ' frames matched');
    text('stat-latency', state.latency.p50 === null ? '–' : state.latency.p50.toFixed(0) + ' ms (p95 ' + state.latency.p95.toFixed(0) + ')');
  }
  setInterval(() => { sampleStats().catch(() => {}); }, 1000);

  // Viewers, from the control API every two seconds; the next request is made only once this
  // one has ended, so a slow server never has them stacked.
  const viewersURL = '/api/v1/pipelines/' + encodeURIComponent(stream);
  async function pollViewers() {
    try {
      const res = await fetch(viewersURL, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      const p = res.ok ? await res.json() : null;
      state.viewers = p && typeof p.viewers === 'number' ? p.viewers : null;
    } catch {
      state.viewers = null;
    }
    text('stat-viewers', state.viewers === null ? '–' : String(state.viewers));
    setTimeout(pollViewers, 2000);
  }
  pollViewers();

  // Signalling: join, then answer the server's offer; candidates trickle both ways. A session
  // that ends (the server restarted, the network went, the peer connection failed) is joined
  // again after a pause that grows from one second to ten, so that a screen left on the live
  // view comes back by itself.
  const retryMin = 1000, retryMax = 10000;
  let retryMs = retryMin;
  let session = null;

  function connect() {
    const s = { ws: null, pc: null, viewerID: null, remoteSet: false, pending: [], over: false };
    session = s;
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws');
    s.ws = ws;
    s.send = (m) => {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(m));
      }
    };
    ws.onopen = () => s.send({ type: 'join', stream });
    ws.onclose = () => lost(s, 'signalling closed');
    ws.onmessage = async (ev) => {
      if (s.over) {
        return; // queued before the session ended
      }
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      try {
        if (m.type === 'offer') {
          await answer(s, m);
        } else if (m.type === 'candidate' && m.id === s.viewerID) {
          const c = m.candidate;
          if (!c || !c.candidate) {
            return; // end of the server's candidates
          }
          if (s.remoteSet) {
            await s.pc.addIceCandidate(c);
          } else {
            s.pending.push(c);
          }
        } else if (m.type === 'error') {
          if (s.viewerID === null || (m.id === s.viewerID && m.stream)) {
            // The join itself failed (a stream not added yet, a server busy), or the server
            // closed this viewer (an error naming the viewer and its stream: not connected in
            // time, or it ended): try again later, so a page opened before its pipeline shows
            // it once it runs.
            lost(s, 'error: ' + String(m.error));
          } else {
            setState('error: ' + String(m.error));
          }
        }
      } catch (err) {
        setState('error: ' + String(err));
      }
    };
  }

  // lost ends session s, once, and joins again after the current pause.
  function lost(s, why) {
    if (s.over || session !== s) {
      return;
    }
    s.over = true;
    state.connected = false;
    if (s.pc) {
      s.pc.close();
    }
    if (s.ws.readyState === WebSocket.CONNECTING || s.ws.readyState === WebSocket.OPEN) {
      s.ws.close();
    }
    state.pc = null;
    detectionsChannel = null;
    const wait = retryMs;
    retryMs = Math.min(retryMax, 2 * retryMs);
    setState(why + '; joining again in ' + Math.round(wait / 1000) + ' s');
    setTimeout(() => {
      state.reconnects++;
      connect();
    }, wait);
  }

  async function answer(s, m) {
    s.viewerID = m.id;
    // The server's STUN/TURN servers (the config's webrtc.ice_servers), for a viewer behind NAT.
    const pc = new RTCPeerConnection({ iceServers: Array.isArray(m.ice_servers) ? m.ice_servers : [] });
    s.pc = pc;
    state.pc = pc;
    pc.ontrack = (ev) => {
      video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      video.play().catch(() => {});
    };
    pc.ondatachannel = (ev) => {
      if (ev.channel.label === 'detections') {
        ev.channel.onmessage = onDetections;
        detectionsChannel = ev.channel;
      }
    };
    pc.onicecandidate = (ev) => {
      if (ev.candidate && ev.candidate.candidate) {
        s.send({ type: 'candidate', id: s.viewerID, candidate: ev.candidate.toJSON() });
      }
    };
    pc.onconnectionstatechange = () => {
      if (s.over) {
        return;
      }
      state.connected = pc.connectionState === 'connected';
      setState(pc.connectionState);
      if (state.connected) {
        retryMs = retryMin;
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        lost(s, 'connection ' + pc.connectionState);
      }
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    s.remoteSet = true;
    for (const c of s.pending.splice(0)) {
      await pc.addIceCandidate(c);
    }
    const desc = await pc.createAnswer();
    await pc.setLocalDescription(desc);
    s.send({ type: 'answer', id: s.viewerID, sdp: pc.localDescription.sdp });
  }

  connect();
})();
