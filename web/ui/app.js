// pigweight start page: lists pipelines from the control API, refreshes them every second, and
// sends start/stop/restart/delete/add requests. Every string from the server reaches the DOM
// through textContent or an attribute, never as markup: pipeline names and errors come from
// configs and cameras, not from us.
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

  // rows keeps one <tr> per pipeline name so a refresh updates cells in place: rebuilding the
  // table every second would steal focus and hover from the buttons.
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

  // request calls the API and returns {ok, status, data}; data is the parsed JSON or null.
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
    if (!res.ok && (!data || typeof data.error !== 'string')) {
      data = { error: 'HTTP ' + res.status + ' ' + res.statusText };
    }
    if (res.status === 401) {
      // The server's message speaks HTTP; say where on this page to fix it.
      tokenEl.classList.add('needed');
      data = { error: token ? 'the API token is wrong: check it at the top right' : 'this server needs an API token: enter it at the top right' };
    }
    return { ok: res.ok, status: res.status, data };
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

  // --- system line ------------------------------------------------------------------------

  function systemText(s) {
    const parts = [];
    if (s.version) parts.push('pigweight ' + s.version);
    parts.push('GStreamer ' + (s.gstreamer || 'not found'));
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

    const btn = (label, cls, fn) => {
      const b = el('button', { text: label, cls, attrs: { type: 'button' } });
      b.addEventListener('click', () => fn(b));
      cells.actions.appendChild(b);
      return b;
    };
    cells.start = btn('start', '', (b) => act(b, 'POST', name, 'start'));
    cells.stop = btn('stop', '', (b) => act(b, 'POST', name, 'stop'));
    cells.restart = btn('restart', '', (b) => act(b, 'POST', name, 'restart'));
    btn('delete', 'danger', (b) => {
      if (confirm('Delete pipeline "' + name + '"? It stops and is removed until it is added again.')) {
        act(b, 'DELETE', name, '');
      }
    });

    const tr = el('tr', {}, Object.values(cells).filter((c) => c.tagName === 'TD'));
    return { tr, cells };
  }

  function fillRow(row, p, now) {
    const c = row.cells;
    const state = String(p.state || 'unknown');
    c.badge.textContent = state;
    c.badge.className = 'badge ' + state.replace(/[^a-z]/g, '');
    const next = parseTime(p.next_retry);
    let retry = '';
    if (state === 'retrying' && next) retry = next.getTime() > now ? 'retry ' + relative(next, now) : 'retrying now';
    c.retry.textContent = retry;
    c.decoder.textContent = p.decoder || '—';
    c.frames.textContent = intFmt.format(p.frames || 0);
    c.fps.textContent = (Number(p.fps) || 0).toFixed(1);
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
    const seen = new Set();
    let prev = null;
    for (const p of list) {
      const name = String(p.name);
      seen.add(name);
      let row = rows.get(name);
      if (!row) {
        row = makeRow(name);
        rows.set(name, row);
      }
      fillRow(row, p, now);
      // Keep the server's order (sorted by name) without moving rows that are already in place.
      const want = prev ? prev.nextSibling : rowsEl.firstChild;
      if (want !== row.tr) rowsEl.insertBefore(row.tr, want);
      prev = row.tr;
    }
    for (const [name, row] of rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
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

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) loop();
  });

  loadSystem();
  loop();
})();
