// pigweight start page: lists pipelines from the control API, refreshes them every second, and
// sends start/stop/restart/delete/add requests; lists uploaded videos every two seconds, uploads
// new ones, starts analysis jobs on them and shows any of their frames. Every string from the
// server reaches the DOM through textContent or an attribute, never as markup: pipeline names
// and errors come from configs and cameras, video names from whoever uploaded the file, not
// from us.
'use strict';

(() => {
  const API = '/api/v1';
  const TOKEN_KEY = 'pigweight.token';
  const REFRESH_MS = 1000;
  // A pipeline's state decides which actions make sense; the server accepts the others too,
  // but offering them would only invite no-op clicks.
  const CAN_START = new Set(['stopped', 'failed']);
  const CAN_STOP = new Set(['starting', 'playing', 'retrying']);

  const byId = (id) => document.getElementById(id);
  const rowsEl = byId('rows');
  const emptyEl = byId('empty');
  const liveEl = byId('live');
  const noticeEl = byId('notice');
  const tokenEl = byId('token');
  const systemEl = byId('system');
  const addForm = byId('add');
  const addBody = byId('add-body');
  const addResult = byId('add-result');

  // rows keeps one <tr> per pipeline name (see syncRows).
  const rows = new Map();
  let lastList = [];
  let lastOK = 0;

  // el builds an element; text is always set through textContent.
  function el(tag, opts = {}, children = []) {
    const n = document.createElement(tag);
    if (opts.cls) n.className = opts.cls;
    if (opts.text !== undefined) n.textContent = String(opts.text);
    if (opts.title) n.title = opts.title;
    if (opts.attrs) for (const [k, v] of Object.entries(opts.attrs)) n.setAttribute(k, v);
    for (const c of children) n.appendChild(c);
    return n;
  }

  // actionButton appends a button to parent that calls fn(button) when clicked.
  function actionButton(parent, label, cls, fn) {
    const b = el('button', { text: label, cls, attrs: { type: 'button' } });
    b.addEventListener('click', () => fn(b));
    parent.appendChild(b);
    return b;
  }

  // syncRows makes tbody show one row per item, in the items' order, reusing the row kept in
  // rows under the item's key: a refresh updates cells in place, because rebuilding the table
  // on every poll would steal focus and hover from the buttons. make(key) returns {tr, ...};
  // fill(row, item) writes the item into it.
  function syncRows(tbody, rows, items, key, make, fill) {
    const seen = new Set();
    let prev = null;
    for (const item of items) {
      const k = key(item);
      seen.add(k);
      let row = rows.get(k);
      if (!row) {
        row = make(k);
        rows.set(k, row);
      }
      fill(row, item);
      // Keep the server's order without moving rows that are already in place.
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== row.tr) tbody.insertBefore(row.tr, want);
      prev = row.tr;
    }
    for (const [k, row] of rows) {
      if (!seen.has(k)) {
        row.tr.remove();
        rows.delete(k);
      }
    }
  }

  // Token: kept in localStorage, which can throw (private windows, disabled storage).
  function loadToken() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }
  function saveToken(v) {
    try {
      if (v) localStorage.setItem(TOKEN_KEY, v); else localStorage.removeItem(TOKEN_KEY);
    } catch { /* the field still works for this page's life */ }
  }
  tokenEl.value = loadToken();
  tokenEl.addEventListener('input', () => {
    saveToken(tokenEl.value.trim());
    tokenEl.classList.remove('needed');
  });

  // outcome is what request (and the upload's XMLHttpRequest) returns: {ok, status, data},
  // where data is the parsed JSON or null, and always {error} when the request failed.
  function outcome(status, statusText, data, token) {
    const ok = status >= 200 && status < 300;
    if (!ok && (!data || typeof data.error !== 'string')) {
      data = { error: 'HTTP ' + status + ' ' + statusText };
    }
    if (status === 401) {
      // The server's message speaks HTTP; say where on this page to fix it.
      tokenEl.classList.add('needed');
      data = { error: token ? 'the API token is wrong: check it at the top right' : 'this server needs an API token: enter it at the top right' };
    }
    return { ok, status, data };
  }

  // request calls the API and returns outcome's {ok, status, data}.
  async function request(method, path, body, contentType) {
    const headers = { Accept: 'application/json' };
    const token = tokenEl.value.trim();
    if (token && method !== 'GET') headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = contentType;
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: 'no-store' });
    } catch (e) {
      return { ok: false, status: 0, data: { error: 'cannot reach the server: ' + e.message } };
    }
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json')) {
      try { data = await res.json(); } catch { data = null; }
    }
    return outcome(res.status, res.statusText, data, token);
  }

  function describeError(data) {
    return data.field ? data.error + ' (' + data.field + ')' : data.error;
  }

  function showNotice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = !text;
  }

  // --- formatting -------------------------------------------------------------------------

  // Go's zero time.Time marshals as year 1; it means "never".
  function parseTime(s) {
    if (!s) return null;
    const t = new Date(s);
    if (isNaN(t.getTime()) || t.getUTCFullYear() <= 1) return null;
    return t;
  }

  function relative(t, now) {
    let s = Math.round((now - t.getTime()) / 1000);
    const future = s < 0;
    s = Math.abs(s);
    let text;
    if (s < 5) return future ? 'now' : 'just now';
    if (s < 60) text = s + 's';
    else if (s < 3600) text = Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    else if (s < 86400) text = Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    else text = Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
    return future ? 'in ' + text : text + ' ago';
  }

  const intFmt = new Intl.NumberFormat();

  // bytesText says a size in binary units: 1.50 MiB.
  function bytesText(n) {
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = Number(n) || 0;
    if (v < 1024) return intFmt.format(v) + ' B';
    let i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + ' ' + units[i];
  }

  // clockText says a time in seconds with the given decimals: 4.04 s, 2:05.250, 1:02:05.250.
  function clockText(seconds, digits) {
    const scale = 10 ** digits;
    const s = Math.round(Math.max(0, Number(seconds) || 0) * scale) / scale;
    if (s < 60) return s.toFixed(digits) + ' s';
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = (s % 60).toFixed(digits).padStart(digits ? digits + 3 : 2, '0');
    return (h ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + sec;
  }

  // --- system line ------------------------------------------------------------------------

  function systemText(s) {
    const parts = [];
    if (s.version) parts.push('pigweight ' + s.version);
    parts.push(s.gstreamer || 'GStreamer not found'); // gst_version_string(): "GStreamer 1.22.0"
    parts.push('NVDEC ' + (s.nvdec ? 'yes' : 'no'));
    const rt = s.onnxruntime || {};
    if (rt.error) {
      parts.push('ONNX Runtime unavailable: ' + rt.error);
    } else if (rt.version) {
      const usable = (rt.providers || []).filter((p) => p.usable).map((p) => p.name);
      parts.push('ONNX Runtime ' + rt.version + (usable.length ? ' (' + usable.join(', ') + ')' : ''));
    } else {
      parts.push('ONNX Runtime not found');
    }
    return parts.join('  ·  ');
  }

  async function loadSystem() {
    const r = await request('GET', API + '/system');
    if (r.ok && r.data) {
      systemEl.textContent = systemText(r.data);
      const hw = (r.data.decoders || []).filter((d) => d.available).map((d) => d.name);
      systemEl.title = hw.length ? 'decoders: ' + hw.join(', ') : '';
    } else {
      systemEl.textContent = 'System information unavailable.';
      setTimeout(loadSystem, 5000);
    }
  }

  // --- pipeline table ---------------------------------------------------------------------

  function makeRow(name) {
    const cells = {
      name: el('td', { cls: 'name', text: name }),
      state: el('td'),
      decoder: el('td', { cls: 'mono' }),
      frames: el('td', { cls: 'num' }),
      fps: el('td', { cls: 'num' }),
      viewers: el('td', { cls: 'num' }),
      restarts: el('td', { cls: 'num' }),
      error: el('td', { cls: 'error' }),
      errorText: el('span', { cls: 'clamp' }),
      since: el('td', { cls: 'muted' }),
      view: el('td'),
      actions: el('td', { cls: 'actions' }),
    };
    cells.error.appendChild(cells.errorText);
    cells.badge = el('span', { cls: 'badge' });
    cells.retry = el('span', { cls: 'retry' });
    cells.state.append(cells.badge, cells.retry);
    // The live view (view.html) plays the stream with its detections drawn on top.
    cells.view.appendChild(el('a', { text: 'view', attrs: { href: '/view/' + encodeURIComponent(name) } }));

    const btn = (label, cls, fn) => actionButton(cells.actions, label, cls, fn);
    cells.start = btn('start', '', (b) => act(b, 'POST', name, 'start'));
    cells.stop = btn('stop', '', (b) => act(b, 'POST', name, 'stop'));
    cells.restart = btn('restart', '', (b) => act(b, 'POST', name, 'restart'));
    btn('delete', 'danger', (b) => {
      // A pipeline of the configuration file comes back with the file; one added here does not.
      const question = row.origin === 'config'
        ? 'Delete pipeline "' + name + '"? It stops now, but the configuration file defines it: it comes back at the next reload or start unless it is removed from the file.'
        : 'Delete pipeline "' + name + '"? It stops and is removed, also from the next start.';
      if (confirm(question)) {
        act(b, 'DELETE', name, '');
      }
    });

    const tr = el('tr', {}, Object.values(cells).filter((c) => c.tagName === 'TD'));
    const row = { tr, cells, origin: '' };
    return row;
  }

  function fillRow(row, p, now) {
    const c = row.cells;
    const state = String(p.state || 'unknown');
    row.origin = p.origin;
    c.name.title = p.origin === 'config' ? 'defined in the configuration file' : 'added through the API or this page; kept for the next start';
    c.badge.textContent = state;
    c.badge.className = 'badge ' + state.replace(/[^a-z]/g, '');
    const next = parseTime(p.next_retry);
    let retry = '';
    if (state === 'retrying' && next) retry = next.getTime() > now ? 'retry ' + relative(next, now) : 'retrying now';
    c.retry.textContent = retry;
    c.decoder.textContent = p.decoder || '—';
    c.frames.textContent = intFmt.format(p.frames || 0);
    c.fps.textContent = (Number(p.fps) || 0).toFixed(1);
    c.viewers.textContent = intFmt.format(Number(p.viewers) || 0);
    c.restarts.textContent = String(p.restarts || 0);
    c.errorText.textContent = p.last_error || '';
    c.error.title = p.last_error || '';
    const since = parseTime(p.since);
    c.since.textContent = since ? relative(since, now) : '—';
    c.since.title = since ? since.toLocaleString() : '';
    c.start.disabled = !CAN_START.has(state);
    c.stop.disabled = !CAN_STOP.has(state);
  }

  function render(list) {
    const now = Date.now();
    // The server sorts pipelines by name.
    syncRows(rowsEl, rows, list, (p) => String(p.name), makeRow, (row, p) => fillRow(row, p, now));
    emptyEl.hidden = list.length > 0;
  }

  function renderLive() {
    if (!lastOK) return;
    const age = Math.round((Date.now() - lastOK) / 1000);
    if (age <= 2) {
      liveEl.className = 'live ok';
      liveEl.textContent = 'live';
    } else {
      liveEl.className = 'live down';
      liveEl.textContent = 'no answer from the server for ' + age + 's';
    }
  }

  async function refresh() {
    const r = await request('GET', API + '/pipelines');
    if (r.ok && Array.isArray(r.data)) {
      lastList = r.data;
      lastOK = Date.now();
      render(lastList);
      if (noticeEl.dataset.kind === 'poll') {
        showNotice('');
        delete noticeEl.dataset.kind;
      }
    } else {
      // Keep showing the last list, ticking relative times, and say the data is stale.
      render(lastList);
      showNotice('Cannot load pipelines: ' + describeError(r.data));
      noticeEl.dataset.kind = 'poll';
      if (!lastOK) {
        liveEl.className = 'live down';
        liveEl.textContent = 'offline';
      }
    }
    renderLive();
  }

  // One request at a time: the next poll is scheduled only after this one ends, so a slow
  // server is never stacked with overlapping requests.
  let timer = 0;
  async function loop() {
    clearTimeout(timer);
    await refresh();
    timer = setTimeout(loop, REFRESH_MS);
  }

  async function act(button, method, name, action) {
    button.disabled = true;
    const path = API + '/pipelines/' + encodeURIComponent(name) + (action ? '/' + action : '');
    const r = await request(method, path);
    if (!r.ok) {
      showNotice((action || 'delete') + ' ' + name + ': ' + describeError(r.data));
      delete noticeEl.dataset.kind;
    } else {
      showNotice('');
    }
    button.disabled = false;
    loop();
  }

  // --- add pipeline -----------------------------------------------------------------------

  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = addBody.value;
    addResult.replaceChildren();
    addResult.className = 'result';
    if (!text.trim()) {
      addResult.className = 'result fail';
      addResult.textContent = 'Write a pipeline definition first.';
      return;
    }
    // Plain JSON objects go as JSON, everything else as YAML; the server accepts both.
    const type = /^\s*\{/.test(text) ? 'application/json' : 'application/yaml';
    const submit = addForm.querySelector('button[type=submit]');
    submit.disabled = true;
    const r = await request('POST', API + '/pipelines', text, type);
    submit.disabled = false;
    if (r.ok) {
      addResult.className = 'result ok';
      addResult.textContent = 'Added pipeline ' + (r.data && r.data.name ? r.data.name : '') + '.';
      addBody.value = '';
      loop();
      return;
    }
    addResult.className = 'result fail';
    const d = r.data;
    const problems = Array.isArray(d.errors) && d.errors.length ? d.errors : [{ error: d.error, field: d.field }];
    if (problems.length > 1) addResult.appendChild(el('div', { text: 'The pipeline has ' + problems.length + ' problems:' }));
    const list = el(problems.length > 1 ? 'ul' : 'div');
    for (const e of problems) {
      const item = el(problems.length > 1 ? 'li' : 'div');
      if (e.field) item.append(el('span', { cls: 'field', text: e.field }), document.createTextNode(': '));
      item.appendChild(document.createTextNode(e.error));
      if (e.line) item.appendChild(el('span', { cls: 'muted', text: ' (line ' + e.line + ')' }));
      list.appendChild(item);
    }
    addResult.appendChild(list);
  });

  // --- videos -----------------------------------------------------------------------------

  const VIDEOS_REFRESH_MS = 2000;
  // "analyse" looks at every ANALYSE_STEP-th frame: enough to follow the pigs through a
  // recording, and a tenth of the work, which matters because live cameras go first.
  const ANALYSE_STEP = 10;
  const VIDEO_IN_FLIGHT = new Set(['uploading', 'indexing']);
  const JOB_ACTIVE = new Set(['queued', 'running']);

  const videoRowsEl = byId('video-rows');
  const videosEmptyEl = byId('videos-empty');
  const videosNoticeEl = byId('videos-notice');
  const uploadForm = byId('upload');
  const uploadFile = byId('upload-file');
  const uploadSubmit = uploadForm.querySelector('button[type=submit]');
  const uploadCancel = byId('upload-cancel');
  const uploadProgress = byId('upload-progress');
  const uploadResult = byId('upload-result');

  // videoRows keeps one <tr> per video id (see syncRows); an upload in flight has an id of its
  // own ("upload-…") and becomes a new row, keyed by content hash, once it is stored.
  const videoRows = new Map();
  // latestJobs holds the newest analysis job of each video id, from GET /jobs.
  let latestJobs = new Map();
  let videoList = [];

  function videoURL(id) {
    return API + '/videos/' + encodeURIComponent(id);
  }

  function showVideosNotice(text, kind) {
    videosNoticeEl.textContent = text;
    videosNoticeEl.hidden = !text;
    if (kind) videosNoticeEl.dataset.kind = kind; else delete videosNoticeEl.dataset.kind;
  }

  function setResult(node, cls, text) {
    node.className = 'result' + (cls ? ' ' + cls : '');
    node.textContent = text;
  }

  function makeVideoRow(id) {
    const cells = {
      name: el('td', { cls: 'name' }),
      frames: el('td', { cls: 'num' }),
      fps: el('td', { cls: 'num' }),
      duration: el('td', { cls: 'num' }),
      codec: el('td', { cls: 'mono' }),
      resolution: el('td', { cls: 'mono' }),
      size: el('td', { cls: 'num' }),
      state: el('td'),
      job: el('td', { cls: 'job' }),
      actions: el('td', { cls: 'actions' }),
    };
    const row = { id, video: null, cells, tr: el('tr', {}, Object.values(cells)) };
    row.badge = el('span', { cls: 'badge' });
    row.progress = el('progress', { cls: 'bar', attrs: { max: '1' } });
    cells.state.append(row.badge, row.progress);
    row.jobText = el('span', { cls: 'job-text' });
    row.jobProgress = el('progress', { cls: 'bar', attrs: { max: '1' } });
    row.jobLink = el('a', { text: 'results.csv', attrs: { download: '' } });
    cells.job.append(row.jobProgress, row.jobText, row.jobLink);

    const btn = (label, cls, fn) => actionButton(cells.actions, label, cls, fn);
    row.frames = btn('frames', '', () => openViewer(row.video));
    row.analyse = btn('analyse', '', (b) => analyse(b, row.video));
    row.remove = btn('delete', 'danger', (b) => {
      if (confirm('Delete video "' + row.video.name + '"? Its file, index and frames are removed from the server.')) {
        deleteVideo(b, row.video);
      }
    });
    return row;
  }

  function fillVideoRow(row, v) {
    row.video = v;
    const c = row.cells;
    const name = String(v.name || v.id);
    const state = String(v.state || 'unknown');
    const ready = state === 'ready';
    c.name.textContent = name;
    c.name.title = 'id ' + v.id;
    c.frames.textContent = ready ? intFmt.format(v.frames || 0) : '—';
    c.frames.title = ready ? intFmt.format(v.keyframes || 0) + ' keyframes' : '';
    c.fps.textContent = ready ? (Number(v.fps) || 0).toFixed(2) : '—';
    c.duration.textContent = ready ? clockText(v.duration_s, 1) : '—';
    c.codec.textContent = v.codec ? v.codec + (v.container ? ' · ' + v.container : '') : '—';
    c.resolution.textContent = v.width && v.height ? v.width + '×' + v.height : '—';
    c.size.textContent = bytesText(v.bytes);
    c.size.title = intFmt.format(v.bytes || 0) + ' bytes';
    row.badge.textContent = state;
    row.badge.className = 'badge ' + state.replace(/[^a-z]/g, '');
    row.badge.title = ready && v.index_build_ms !== undefined ? 'indexed in ' + intFmt.format(v.index_build_ms) + ' ms' : '';
    const inFlight = VIDEO_IN_FLIGHT.has(state);
    row.progress.hidden = !inFlight;
    if (inFlight) {
      row.progress.value = Math.min(1, Math.max(0, Number(v.progress) || 0));
      row.progress.setAttribute('aria-label', state + ' progress of ' + name);
    }

    const job = latestJobs.get(v.id);
    fillJob(row, job);
    const usable = ready && v.frames > 0;
    row.frames.disabled = !usable;
    row.analyse.disabled = !usable || Boolean(job && JOB_ACTIVE.has(job.state));
    row.remove.disabled = !ready;
  }

  // fillJob shows the video's newest analysis job: its progress while it runs, then a link to
  // its detections as CSV.
  function fillJob(row, job) {
    if (!job) {
      row.jobProgress.hidden = true;
      row.jobLink.hidden = true;
      row.jobText.className = 'job-text muted';
      row.jobText.textContent = '—';
      row.cells.job.title = '';
      return;
    }
    const state = String(job.state);
    const active = JOB_ACTIVE.has(state);
    const done = Number(job.done) || 0;
    const total = Number(job.total) || 0;
    row.jobProgress.hidden = !active;
    if (active) {
      row.jobProgress.value = Math.min(1, Math.max(0, Number(job.progress) || 0));
      row.jobProgress.setAttribute('aria-label', 'analysis progress of ' + (row.video.name || row.video.id));
    }
    let text;
    if (state === 'queued') text = 'queued';
    else if (state === 'running') text = intFmt.format(done) + ' / ' + intFmt.format(total);
    else if (state === 'done') text = intFmt.format(done) + ' frames';
    else if (state === 'failed') text = 'failed' + (job.error ? ': ' + job.error : '');
    else text = state;
    row.jobText.className = 'job-text' + (state === 'failed' ? ' fail' : '');
    row.jobText.textContent = text;
    row.cells.job.title = 'job ' + job.id + ': frames ' + job.from + '–' + job.to + ', every ' + job.step +
      (job.model ? ', model ' + job.model : '') + (job.error ? '\n' + job.error : '');
    // The CSV holds what a job has analysed so far; offer it once the job has ended with any.
    row.jobLink.hidden = active || done === 0;
    row.jobLink.href = API + '/jobs/' + encodeURIComponent(job.id) + '/results.csv';
  }

  function renderVideos(list) {
    // The server lists the newest first.
    syncRows(videoRowsEl, videoRows, list, (v) => String(v.id), makeVideoRow, fillVideoRow);
    videosEmptyEl.hidden = list.length > 0;
  }

  async function refreshVideos() {
    const [vr, jr] = await Promise.all([request('GET', API + '/videos'), request('GET', API + '/jobs')]);
    if (jr.ok && Array.isArray(jr.data)) {
      // Jobs come newest first: the first of each video is its latest.
      const latest = new Map();
      for (const j of jr.data) if (!latest.has(j.video)) latest.set(j.video, j);
      latestJobs = latest;
    }
    if (vr.ok && Array.isArray(vr.data)) {
      videoList = vr.data;
      renderVideos(videoList);
      if (videosNoticeEl.dataset.kind === 'poll') showVideosNotice('');
      if (viewer.video && !videoList.some((v) => v.id === viewer.video.id)) {
        showVideosNotice('Video "' + viewer.video.name + '" was deleted.');
        closeViewer();
      }
    } else {
      renderVideos(videoList);
      showVideosNotice('Cannot load videos: ' + describeError(vr.data), 'poll');
    }
  }

  // As loop: one poll at a time.
  let videosTimer = 0;
  async function videosLoop() {
    clearTimeout(videosTimer);
    await refreshVideos();
    videosTimer = setTimeout(videosLoop, VIDEOS_REFRESH_MS);
  }

  async function analyse(button, v) {
    button.disabled = true;
    const body = JSON.stringify({ from: 0, to: v.frames - 1, step: ANALYSE_STEP });
    const r = await request('POST', videoURL(v.id) + '/infer', body, 'application/json');
    if (r.ok && r.data && r.data.id) {
      latestJobs.set(v.id, r.data);
      showVideosNotice('');
    } else {
      showVideosNotice('analyse ' + v.name + ': ' + describeError(r.data));
    }
    videosLoop();
  }

  async function deleteVideo(button, v) {
    button.disabled = true;
    const r = await request('DELETE', videoURL(v.id));
    if (r.ok) {
      showVideosNotice('');
      if (viewer.video && viewer.video.id === v.id) closeViewer();
    } else {
      showVideosNotice('delete ' + v.name + ': ' + describeError(r.data));
    }
    videosLoop();
  }

  // --- upload -----------------------------------------------------------------------------

  // Uploads go through XMLHttpRequest rather than fetch: only it reports the bytes sent. The
  // server streams the file to disk, hashes and indexes it, and answers once it is stored.
  let uploadXHR = null;

  function uploadDone(r, file) {
    uploadXHR = null;
    uploadProgress.hidden = true;
    uploadCancel.hidden = true;
    uploadSubmit.disabled = false;
    uploadFile.disabled = false;
    if (r.ok && r.data) {
      const v = r.data;
      const what = intFmt.format(v.frames || 0) + ' frames, ' + v.width + '×' + v.height + ' ' + v.codec +
        ', ' + clockText(v.duration_s, 1);
      if (r.status === 201) {
        setResult(uploadResult, 'ok', 'Uploaded ' + v.name + ': ' + what + ' (indexed in ' + (v.index_build_ms ? intFmt.format(v.index_build_ms) : 'under 1') + ' ms).');
      } else {
        setResult(uploadResult, 'ok', file.name + ' was stored before, as ' + v.name + ': ' + what + '.');
      }
      uploadFile.value = '';
    } else {
      setResult(uploadResult, 'fail', 'Upload of ' + file.name + ' failed: ' + describeError(r.data));
    }
    videosLoop();
  }

  uploadForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (uploadXHR) return;
    const file = uploadFile.files[0];
    if (!file) {
      setResult(uploadResult, 'fail', 'Choose a video file first.');
      return;
    }
    const form = new FormData();
    form.append('file', file, file.name);
    const token = tokenEl.value.trim();
    const xhr = new XMLHttpRequest();
    uploadXHR = xhr;
    xhr.open('POST', API + '/videos');
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);

    // Listeners on xhr.upload must be in place before send, or no progress events come.
    xhr.upload.addEventListener('progress', (e) => {
      if (uploadXHR !== xhr) return;
      const total = e.lengthComputable ? e.total : file.size;
      uploadProgress.max = total || 1;
      uploadProgress.value = Math.min(e.loaded, total);
      const pct = total ? Math.floor((100 * e.loaded) / total) : 0;
      setResult(uploadResult, '', 'Uploading ' + file.name + ': ' + pct + ' % of ' + bytesText(file.size));
    });
    xhr.upload.addEventListener('load', () => {
      if (uploadXHR !== xhr) return; // the server answered before the last byte was sent
      // Every byte is sent; the server now indexes the file. No value: an indeterminate bar.
      uploadProgress.removeAttribute('value');
      uploadCancel.hidden = true;
      setResult(uploadResult, '', 'Uploaded ' + bytesText(file.size) + '; indexing…');
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      uploadDone(outcome(xhr.status, xhr.statusText, data, token), file);
    });
    xhr.addEventListener('error', () => {
      // A server that refuses a file over its limit may close the connection before the
      // browser has read the answer.
      uploadDone({ ok: false, status: 0, data: { error: 'the connection broke off: the server is unreachable, or closed it (as it may for a file over its upload limit)' } }, file);
    });
    xhr.addEventListener('abort', () => {
      uploadDone({ ok: false, status: 0, data: { error: 'cancelled' } }, file);
    });

    uploadSubmit.disabled = true;
    uploadFile.disabled = true;
    uploadCancel.hidden = false;
    uploadProgress.hidden = false;
    uploadProgress.max = file.size || 1;
    uploadProgress.value = 0;
    setResult(uploadResult, '', 'Uploading ' + file.name + '…');
    xhr.send(form);
    videosLoop();
  });

  uploadCancel.addEventListener('click', () => {
    if (uploadXHR) uploadXHR.abort();
  });

  // --- frame viewer -----------------------------------------------------------------------

  const viewerEl = byId('viewer');
  const viewerTitle = byId('viewer-title');
  const frameStage = byId('frame-stage');
  const frameImg = byId('frame');
  const frameSlider = byId('frame-slider');
  const frameNumber = byId('frame-number');
  const frameInfo = byId('frame-info');
  const frameError = byId('frame-error');

  // The <img> fetches one frame at a time: while the slider is dragged, the frames passed over
  // during a fetch are skipped and the next fetch asks for wherever the slider is then, so
  // the server decodes only what can be shown and scrubbing keeps up.
  const viewer = {
    video: null, // the video shown, or null when the viewer is closed
    wanted: 0, // the frame the controls point at
    loading: -1, // the frame the <img> is fetching; -1 when idle
    shown: -1, // the frame the <img> holds (or failed to load); -1 for none
  };

  function frameURL(id, n) {
    return videoURL(id) + '/frames/' + n;
  }

  function openViewer(v) {
    if (!v) return;
    const start = viewer.video && viewer.video.id === v.id ? viewer.wanted : 0;
    viewer.video = v;
    viewer.loading = -1;
    viewer.shown = -1;
    frameImg.removeAttribute('src');
    frameImg.alt = '';
    frameError.hidden = true;
    viewerTitle.textContent = 'Frames of ' + v.name;
    const last = String(Math.max(0, v.frames - 1));
    frameSlider.max = last;
    frameNumber.max = last;
    viewerEl.hidden = false;
    showFrame(start);
    viewerEl.scrollIntoView({ block: 'nearest' });
    // Focus makes ← and → step at once.
    viewerEl.focus({ preventScroll: true });
  }

  function closeViewer() {
    viewer.video = null;
    viewer.loading = -1;
    viewer.shown = -1;
    frameImg.removeAttribute('src');
    viewerEl.hidden = true;
  }

  // showFrame points the controls at frame n (clamped to the video) and fetches it when the
  // <img> is free.
  function showFrame(n) {
    const v = viewer.video;
    if (!v) return;
    const last = Math.max(0, v.frames - 1);
    n = Math.min(Math.max(0, Math.round(Number(n) || 0)), last);
    viewer.wanted = n;
    frameSlider.value = String(n);
    frameNumber.value = String(n);
    const fps = Number(v.fps) || 0;
    frameInfo.textContent = 'of ' + intFmt.format(v.frames) + ' · ' + (fps ? clockText(n / fps, 3) : '—');
    loadWanted();
  }

  function loadWanted() {
    const idle = viewer.loading < 0;
    if (idle && viewer.wanted !== viewer.shown) {
      viewer.loading = viewer.wanted;
      frameImg.src = frameURL(viewer.video.id, viewer.loading);
    }
    frameStage.setAttribute('aria-busy', String(viewer.loading >= 0));
  }

  frameImg.addEventListener('load', () => {
    if (viewer.loading < 0 || !viewer.video) return;
    viewer.shown = viewer.loading;
    viewer.loading = -1;
    frameImg.alt = 'frame ' + viewer.shown + ' of ' + viewer.video.name;
    frameError.hidden = true;
    loadWanted();
  });

  frameImg.addEventListener('error', async () => {
    if (viewer.loading < 0 || !viewer.video) return;
    const v = viewer.video;
    const n = viewer.loading;
    // An <img> cannot read the error's body: ask again for the server's reason. The frame
    // still counts as loading meanwhile, so that only one request runs at a time.
    const r = await request('GET', frameURL(v.id, n));
    if (viewer.video !== v || viewer.loading !== n) return;
    frameError.textContent = 'Frame ' + n + ': ' + (r.ok ? 'the browser cannot show this picture' : describeError(r.data));
    frameError.hidden = false;
    viewer.shown = n;
    viewer.loading = -1;
    loadWanted();
  });

  byId('viewer-close').addEventListener('click', closeViewer);
  byId('frame-prev').addEventListener('click', () => showFrame(viewer.wanted - 1));
  byId('frame-next').addEventListener('click', () => showFrame(viewer.wanted + 1));
  frameSlider.addEventListener('input', () => showFrame(frameSlider.valueAsNumber));
  frameNumber.addEventListener('change', () => showFrame(frameNumber.value === '' ? viewer.wanted : frameNumber.value));

  viewerEl.addEventListener('keydown', (ev) => {
    // The number field keeps its keys: arrows there move the caret or the value.
    if (!viewer.video || ev.target === frameNumber || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const step = ev.shiftKey ? 10 : 1;
    let n;
    switch (ev.key) {
      case 'ArrowLeft': n = viewer.wanted - step; break;
      case 'ArrowRight': n = viewer.wanted + step; break;
      case 'Home': n = 0; break;
      case 'End': n = viewer.video.frames - 1; break;
      default: return;
    }
    // Also on the slider, whose own handling knows no Shift.
    ev.preventDefault();
    showFrame(n);
  });

  // --- start ------------------------------------------------------------------------------

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    loop();
    videosLoop();
  });

  loadSystem();
  loop();
  videosLoop();
})();
