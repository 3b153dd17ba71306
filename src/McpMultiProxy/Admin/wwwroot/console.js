// mcp-multiproxy web console. Plain JavaScript, no build step, no third-party code: everything it shows comes
// from the admin API (/api) of the proxy that serves this page. Text from servers is only ever set as
// textContent, never parsed as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#65a30d', '#9333ea', '#0f766e'];
  const REFRESH_MS = 5000;
  const KIND_NAMES = {
    added: 'added', removed: 'removed', enabled: 'enabled', disabled: 'disabled', state: 'state',
    lists: 'lists changed', connectionError: 'connection error', callError: 'call error',
  };

  const state = {
    status: null,
    tools: [],
    history: null,
    usage: [],
    events: [],
    lastEventId: 0,
    selected: null,
    colors: new Map(),
    busy: new Set(),
  };

  // A bearer token, if the proxy asks for one: open the console as /#token=... once; it is kept for this tab only
  // and the address bar is cleaned so the token does not linger in history.
  let token = (() => {
    const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem('mcp-multiproxy-token', decodeURIComponent(match[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem('mcp-multiproxy-token');
  })();

  function headers(extra) {
    const h = Object.assign({ 'Accept': 'application/json' }, extra || {});
    if (token) h['Authorization'] = 'Bearer ' + token;
    return h;
  }

  async function api(method, path, body) {
    const init = { method, headers: headers(method === 'GET' ? null : { 'Content-Type': 'application/json' }) };
    if (method !== 'GET') init.body = body === undefined ? '' : JSON.stringify(body);
    const response = await fetch('/api' + path, init);
    if (response.status === 401) {
      needToken();
      throw new Error('the proxy needs its token');
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = { error: text }; }
    }
    if (!response.ok && !(data && (data.result || data.error))) {
      throw new Error((data && data.error) || ('HTTP ' + response.status));
    }
    return { ok: response.ok, status: response.status, data };
  }

  // ---- small DOM helpers ----------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children.flat()) {
      if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const fmt = (v, digits = 1) => (v === null || v === undefined) ? '–' : Number(v).toLocaleString(undefined, { maximumFractionDigits: digits });
  const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : '–';

  let toastTimer = 0;
  function toast(message, isError) {
    const t = $('toast');
    t.textContent = message;
    t.className = 'toast' + (isError ? ' error' : '');
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 4000);
  }

  function needToken() {
    const panel = $('token-panel');
    if (panel.hidden) {
      panel.hidden = false;
      $('token-input').focus();
    }
  }

  function useToken(event) {
    event.preventDefault();
    token = $('token-input').value.trim();
    sessionStorage.setItem('mcp-multiproxy-token', token);
    $('token-panel').hidden = true;
    refresh().then(() => state.events.length ? null : loadEvents());
  }

  function colorOf(name) {
    if (!state.colors.has(name)) state.colors.set(name, COLORS[state.colors.size % COLORS.length]);
    return state.colors.get(name);
  }

  // ---- loading --------------------------------------------------------------------------------------------
  async function refresh() {
    try {
      const [status, tools, history, usage] = await Promise.all([
        api('GET', '/status'), api('GET', '/tools'), api('GET', '/history'), api('GET', '/usage'),
      ]);
      state.status = status.data;
      state.tools = tools.data;
      state.history = history.data;
      state.usage = usage.data.tools;
      render();
    } catch (e) {
      $('summary').textContent = 'Cannot reach the proxy: ' + e.message;
    }
  }

  let refreshTimer = 0;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 200);
  }

  async function loadEvents() {
    try {
      const r = await api('GET', '/events?limit=200');
      for (const e of r.data.events) addEvent(e);
      renderEvents();
    } catch { /* shown by refresh() */ }
  }

  // Server-sent events read with fetch (not EventSource) so that an Authorization header can be sent.
  async function listen() {
    const live = $('live');
    for (;;) {
      try {
        const h = headers({ 'Accept': 'text/event-stream' });
        if (state.lastEventId) h['Last-Event-ID'] = String(state.lastEventId);
        const response = await fetch('/api/events/stream', { headers: h, cache: 'no-store' });
        if (response.status === 401) needToken();
        if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
        live.className = 'live on';
        $('live-text').textContent = 'live';
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            onSse(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch { /* reconnect below */ }
      live.className = 'live off';
      $('live-text').textContent = 'reconnecting…';
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  function onSse(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) type = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (type !== 'event') return;
    const e = JSON.parse(data.join('\n'));
    addEvent(e);
    renderEvents();
    refreshSoon();
  }

  function addEvent(e) {
    if (e.id <= state.lastEventId) return;
    state.lastEventId = e.id;
    state.events.push(e);
    if (state.events.length > 300) state.events.splice(0, state.events.length - 300);
  }

  // ---- rendering ------------------------------------------------------------------------------------------
  function render() {
    const s = state.status;
    $('version').textContent = s.proxy.version;
    $('endpoint').textContent = location.origin + '/mcp';
    const sum = s.summary;
    const chips = [
      el('span', { class: 'chip ' + (sum.healthy === sum.total - sum.disabled ? 'good' : 'warn') }, `${sum.healthy}/${sum.total} healthy`),
      sum.degraded ? el('span', { class: 'chip warn' }, `${sum.degraded} degraded`) : null,
      sum.unhealthy ? el('span', { class: 'chip bad' }, `${sum.unhealthy} unhealthy`) : null,
      sum.disabled ? el('span', { class: 'chip' }, `${sum.disabled} disabled`) : null,
      el('span', { class: 'chip' }, `${s.tools} tools served`),
      el('span', { class: 'chip' }, `${s.clients} client${s.clients === 1 ? '' : 's'}`),
    ];
    $('summary').replaceChildren(...chips.filter(Boolean));
    renderWithheld();
    renderServers();
    renderChart();
    renderUsage();
    renderToolPicker();
    if (state.selected) renderDetail();
  }

  function renderServers() {
    const servers = state.status.servers;
    $('no-servers').hidden = servers.length > 0;
    const rows = servers.map((s) => {
      const busy = state.busy.has(s.name);
      const error = s.lastError && s.state !== 'healthy' && s.state !== 'disabled'
        ? el('div', { class: 'row-error' }, s.lastError) : null;
      return el('tr', { class: (state.selected === s.name ? 'selected ' : '') + 'state-' + s.state, 'data-server': s.name },
        el('td', null,
          el('button', { type: 'button', class: 'link', 'aria-label': `Show details of ${s.name}`, onclick: () => select(s.name) },
            el('span', { class: 'swatch', 'aria-hidden': 'true', 'data-color': colorOf(s.name) }), s.name),
          s.description ? el('div', { class: 'muted small' }, s.description) : null),
        el('td', null, el('span', { class: 'badge ' + s.state, 'data-state': s.state }, s.state), error),
        el('td', { class: 'target', title: s.target }, el('span', { class: 'muted' }, s.transport + ' '), s.target),
        el('td', { class: 'num' }, `${s.tools}/${s.prompts}/${s.resources}`),
        el('td', { class: 'num' }, fmt(s.calls, 0)),
        el('td', { class: 'num' + (s.errors ? ' bad-text' : '') }, fmt(s.errors, 0)),
        el('td', { class: 'num' }, fmt(s.responseMs.average)),
        el('td', { class: 'num' }, fmt(s.responseMs.p95)),
        el('td', { class: 'actions' },
          el('button', { type: 'button', class: 'small', disabled: busy, 'aria-label': `${s.enabled ? 'Disable' : 'Enable'} ${s.name}`,
            onclick: () => act(s.name, s.enabled ? 'disable' : 'enable') }, s.enabled ? 'Disable' : 'Enable'),
          el('button', { type: 'button', class: 'small', disabled: busy || !s.enabled, 'aria-label': `Check ${s.name} now`,
            onclick: () => act(s.name, 'check') }, 'Check'),
          el('button', { type: 'button', class: 'small danger', disabled: busy, 'aria-label': `Remove ${s.name}`,
            onclick: () => remove(s.name) }, 'Remove')));
    });
    $('server-rows').replaceChildren(...rows);
    for (const swatch of document.querySelectorAll('.swatch')) swatch.style.background = swatch.dataset.color;
  }

  function renderWithheld() {
    const withheld = state.status.withheld || [];
    $('withheld-panel').hidden = withheld.length === 0;
    $('withheld').replaceChildren(...withheld.map((w) => el('li', { class: 'withheld-item' },
      el('span', null, el('code', null, `${w.server}/${w.tool}`), ` — ${w.changed.join(' and ')} changed`,
        w.currentDescription !== w.pinnedDescription ? el('div', { class: 'small muted' }, `now: ${w.currentDescription || '(none)'}`) : null),
      el('button', { type: 'button', class: 'small', 'aria-label': `Approve ${w.server}/${w.tool}`,
        onclick: () => approve(w.server, w.tool) }, 'Approve'))));
  }

  async function approve(server, tool) {
    try {
      const r = await api('POST', `/backends/${encodeURIComponent(server)}/approve`, { tool });
      toast(r.ok ? `Approved ${server}/${tool}: it is served again` : r.data.error, !r.ok);
    } catch (e) {
      toast('Approving failed: ' + e.message, true);
    }
    await refresh();
  }

  function renderChart() {
    const box = $('chart');
    const h = state.history;
    if (!h) return;
    const width = Math.max(320, box.clientWidth || 640);
    const height = 200;
    const pad = { left: 60, right: 12, top: 10, bottom: 24 };
    const now = Date.now();
    const minutes = Math.min(h.minutes, Number($('chart-minutes').value) || h.minutes);
    const span = minutes * 60000;
    const from = now - span;
    const series = h.backends.map((b) => ({ name: b.name, color: colorOf(b.name), points: b.points.filter((p) => p.t >= from) }));
    const values = series.flatMap((s) => s.points.map((p) => p.averageMs).filter((v) => v !== null));
    const top = niceCeiling(values.length ? Math.max(...values) : 10);
    const x = (t) => pad.left + (t - from) / span * (width - pad.left - pad.right);
    const y = (v) => pad.top + (1 - v / top) * (height - pad.top - pad.bottom);

    const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart-svg' });
    for (let i = 0; i <= 4; i++) {
      const v = top * i / 4;
      chart.append(
        svg('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: pad.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, fmt(v, Number.isInteger(v) ? 0 : 1) + ' ms'));
    }
    for (let m = 0; m <= minutes; m += minutes > 5 ? 5 : 1) {
      const t = now - m * 60000;
      chart.append(svg('text', { x: x(t), y: height - 6, class: 'axis', 'text-anchor': m === 0 ? 'end' : 'middle' }, m === 0 ? 'now' : `-${m} min`));
    }
    for (const s of series) {
      let path = '';
      let last = null;
      for (const p of s.points) {
        if (p.averageMs === null) { last = null; continue; }
        // Break the line over gaps longer than three intervals (the server was down, or idle without pings).
        const gap = last !== null && p.t - last > h.intervalSeconds * 3000;
        path += (path === '' || gap ? 'M' : 'L') + x(p.t).toFixed(1) + ',' + y(p.averageMs).toFixed(1) + ' ';
        last = p.t;
      }
      if (path) chart.append(svg('path', { d: path, stroke: s.color, class: 'series' }));
      for (const p of s.points) {
        if (p.averageMs !== null) {
          chart.append(svg('circle', { cx: x(p.t), cy: y(p.averageMs), r: 2.5, fill: s.color },
            svg('title', null, `${s.name} ${new Date(p.t).toLocaleTimeString()}: avg ${fmt(p.averageMs)} ms, max ${fmt(p.maxMs)} ms, ${p.calls} calls, ${p.errors} errors`)));
        }
        if (p.errors > 0) {
          chart.append(svg('rect', { x: x(p.t) - 2, y: height - pad.bottom - 6, width: 4, height: 6, class: 'error-mark' },
            svg('title', null, `${s.name}: ${p.errors} failed call(s) or ping(s) at ${new Date(p.t).toLocaleTimeString()}`)));
        }
      }
    }
    if (!values.length) {
      chart.append(svg('text', { x: width / 2, y: height / 2, class: 'axis', 'text-anchor': 'middle' }, 'No calls or health pings yet'));
    }
    box.replaceChildren(chart);
    box.setAttribute('aria-label', 'Response time per server over the last ' + minutes + ' minutes: ' +
      series.map((s) => `${s.name} ${s.points.length ? 'latest ' + fmt(s.points[s.points.length - 1].averageMs) + ' ms' : 'no data'}`).join('; '));
    $('legend').replaceChildren(...series.map((s) => {
      const dot = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      dot.style.background = s.color;
      return el('span', { class: 'legend-item' }, dot, s.name);
    }));
  }

  function niceCeiling(v) {
    if (v <= 0) return 1;
    const magnitude = Math.pow(10, Math.floor(Math.log10(v)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (v <= step * magnitude) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function renderUsage() {
    const rows = state.usage.map((u) => {
      const rate = u.failureRate;
      const bar = el('span', { class: 'bar' }, el('span', { class: 'bar-fill' + (rate > 0.2 ? ' bad' : rate > 0 ? ' warn' : '') }));
      bar.firstChild.style.width = Math.max(rate > 0 ? 4 : 0, Math.round(rate * 100)) + '%';
      return el('tr', null,
        el('td', null, el('code', null, u.servedName || u.tool)),
        el('td', null, u.backend),
        el('td', { class: 'num' }, fmt(u.calls, 0)),
        el('td', { class: 'num' }, fmt(u.averageMs)),
        el('td', { class: 'rate' }, bar, el('span', { class: 'num-inline' }, fmt(rate * 100, 1) + '%'), u.failures ? el('span', { class: 'muted' }, ` (${u.failures})`) : null),
        el('td', null, time(u.lastCallAt)));
    });
    $('usage-rows').replaceChildren(...rows);
    $('no-usage').hidden = rows.length > 0;
  }

  function renderToolPicker() {
    const select = $('call-tool');
    const current = select.value;
    const groups = new Map();
    // The servers' tools first, the proxy's own tools (manage, proxy_status, ...) last.
    const tools = [...state.tools.filter((t) => t.backend), ...state.tools.filter((t) => !t.backend)];
    for (const t of tools) {
      const key = t.backend || 'proxy';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(t);
    }
    const signature = tools.map((t) => t.name).join('|');
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    select.replaceChildren(...[...groups.entries()].map(([backend, tools]) =>
      el('optgroup', { label: backend }, tools.map((t) => el('option', { value: t.name }, t.name)))));
    if (state.tools.some((t) => t.name === current)) select.value = current;
    else onToolChosen();
  }

  function onToolChosen() {
    const tool = state.tools.find((t) => t.name === $('call-tool').value);
    $('call-description').textContent = tool ? (tool.description || '') : 'No tools are served right now.';
    $('call-args').value = tool ? JSON.stringify(skeleton(tool.inputSchema), null, 2) : '{}';
  }

  // Arguments prefilled from the tool's input schema: its required properties with empty values of their type.
  function skeleton(schema) {
    const result = {};
    const props = (schema && schema.properties) || {};
    for (const name of (schema && schema.required) || []) {
      const type = props[name] && props[name].type;
      result[name] = type === 'number' || type === 'integer' ? 0 : type === 'boolean' ? false : type === 'array' ? [] : type === 'object' ? {} : '';
    }
    return result;
  }

  async function select(name) {
    state.selected = name;
    renderServers();
    await renderDetail();
    $('detail').scrollIntoView({ block: 'nearest' });
  }

  async function renderDetail() {
    const name = state.selected;
    const server = state.status.servers.find((s) => s.name === name);
    if (!server) {
      state.selected = null;
      $('detail-body').hidden = true;
      $('detail-empty').hidden = false;
      return;
    }
    const enc = encodeURIComponent(name);
    // Its tools are those of /api/tools (already loaded by refresh, same shape as /api/backends/{name}/tools) with this backend.
    const tools = state.tools.filter((t) => t.backend === name);
    const [prompts, resources] = await Promise.all([api('GET', `/backends/${enc}/prompts`), api('GET', `/backends/${enc}/resources`)]);
    if (state.selected !== name) return;
    $('detail-title').textContent = 'Server: ' + name;
    $('detail-meta').textContent = [
      server.server ? `${server.server.name} ${server.server.version || ''}, protocol ${server.server.protocolVersion || '?'}` : null,
      `state ${server.state}`, server.restarts ? `${server.restarts} restart(s)` : null,
      server.lastError ? `last error: ${server.lastError}` : null,
    ].filter(Boolean).join(' · ');
    const item = (title, subtitle, description) => el('li', null, el('code', null, title), subtitle ? el('span', { class: 'muted' }, ' ' + subtitle) : null,
      description ? el('div', { class: 'small' }, description) : null);
    $('detail-tools').replaceChildren(...tools.map((t) => item(t.name, t.name !== t.originalName ? `(${t.originalName})` : '', t.description)));
    $('detail-prompts').replaceChildren(...prompts.data.map((p) => item(p.name, p.arguments.length ? `(${p.arguments.map((a) => a.name).join(', ')})` : '', p.description)));
    $('detail-resources').replaceChildren(
      ...resources.data.resources.map((r) => item(r.uri, r.name, r.description)),
      ...resources.data.templates.map((t) => item(t.uriTemplate, t.name + ' (template)', t.description)));
    $('detail-tools-count').textContent = `(${tools.length})`;
    $('detail-prompts-count').textContent = `(${prompts.data.length})`;
    $('detail-resources-count').textContent = `(${resources.data.resources.length + resources.data.templates.length})`;
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
  }

  function renderEvents() {
    const errorsOnly = $('errors-only').checked;
    const shown = state.events.filter((e) => !errorsOnly || e.error).slice(-100).reverse();
    $('events').replaceChildren(...shown.map((e) => el('li', { class: e.error ? 'error' : 'kind-' + e.kind },
      el('time', { datetime: e.at }, time(e.at)), el('span', { class: 'kind' }, KIND_NAMES[e.kind] || e.kind), el('span', { class: 'message' }, e.message))));
    $('no-events').hidden = shown.length > 0;
  }

  // ---- actions --------------------------------------------------------------------------------------------
  async function act(name, action) {
    state.busy.add(name);
    renderServers();
    try {
      const r = await api('POST', `/backends/${encodeURIComponent(name)}/${action}`);
      if (!r.ok) toast(r.data.error, true);
      else if (action === 'check') {
        const s = r.data.servers && r.data.servers[0];
        const pings = (s && s.check) || [];
        toast(`${name}: ${pings.length && pings.every((p) => p.ok) ? 'answered in ' + pings.map((p) => fmt(p.ms)).join('/') + ' ms' : 'did not answer: ' + (pings.find((p) => !p.ok) || {}).error}`, !pings.every((p) => p.ok));
      } else toast(`${name}: ${action}d`);
    } catch (e) {
      toast(`${action} ${name} failed: ${e.message}`, true);
    } finally {
      state.busy.delete(name);
      await refresh();
    }
  }

  async function remove(name) {
    if (!confirm(`Remove the server '${name}'? Its tools are withdrawn at once.`)) return;
    state.busy.add(name);
    renderServers();
    try {
      const r = await api('DELETE', `/backends/${encodeURIComponent(name)}`);
      if (!r.ok) toast(r.data.error, true); else toast(`${name}: removed`);
      if (state.selected === name) state.selected = null;
    } catch (e) {
      toast(`Removing ${name} failed: ${e.message}`, true);
    } finally {
      state.busy.delete(name);
      await refresh();
    }
  }

  async function addServer(event) {
    event.preventDefault();
    const form = event.target;
    const kind = $('add-kind').value;
    const body = {};
    const name = $('add-name').value.trim();
    if (name) body.name = name;
    if (kind === 'url') {
      body.url = $('add-url').value.trim();
      if (!body.url) { toast('Give the server\'s URL, e.g. http://127.0.0.1:8000/mcp', true); $('add-url').focus(); return; }
    } else {
      body.command = $('add-command').value.trim();
      const args = $('add-args').value.trim();
      if (args) body.args = args.split(/\s+/);
      if (!body.command) { toast('Give the command to start', true); $('add-command').focus(); return; }
    }
    const button = $('add-submit');
    button.disabled = true;
    button.textContent = 'Adding…';
    try {
      const r = await api('POST', '/backends', body);
      if (!r.ok) {
        toast(r.data.error, true);
      } else {
        const s = r.data.server;
        toast(`Added ${r.data.name}: ${s ? s.state : 'starting'}`, s && s.state === 'unhealthy');
        form.reset();
        showKind();
      }
    } catch (e) {
      toast('Adding failed: ' + e.message, true);
    } finally {
      button.disabled = false;
      button.textContent = 'Add server';
      await refresh();
    }
  }

  async function callTool(event) {
    event.preventDefault();
    const name = $('call-tool').value;
    if (!name) { toast('No tool to call: no server is serving tools right now.', true); return; }
    let args;
    try {
      args = JSON.parse($('call-args').value || '{}');
    } catch (e) {
      toast('Arguments are not valid JSON: ' + e.message, true);
      $('call-args').focus();
      return;
    }
    const button = $('call-submit');
    button.disabled = true;
    button.textContent = 'Calling…';
    try {
      const r = await api('POST', '/tools/call', { name, arguments: args });
      const out = $('call-output');
      const statusText = $('call-status');
      $('call-result').hidden = false;
      $('call-elapsed').textContent = r.data.elapsedMs !== undefined ? ` ${fmt(r.data.elapsedMs)} ms` : '';
      if (r.data.result) {
        const result = r.data.result;
        const failed = result.isError === true;
        statusText.textContent = failed ? 'Tool error' : 'Result';
        statusText.className = failed ? 'bad-text' : 'good-text';
        const texts = (result.content || []).filter((c) => c.type === 'text').map((c) => c.text);
        out.textContent = texts.join('\n') + (result.structuredContent ? '\n\nstructuredContent: ' + JSON.stringify(result.structuredContent, null, 2) : '')
          + ((result.content || []).some((c) => c.type !== 'text') ? '\n\n' + JSON.stringify(result.content.filter((c) => c.type !== 'text'), null, 2) : '');
      } else {
        statusText.textContent = 'Failed';
        statusText.className = 'bad-text';
        out.textContent = r.data.error;
      }
    } catch (e) {
      toast('Call failed: ' + e.message, true);
    } finally {
      button.disabled = false;
      button.textContent = 'Call';
      refreshSoon();
    }
  }

  function showKind() {
    const kind = $('add-kind').value;
    for (const node of document.querySelectorAll('[data-kind]')) node.hidden = node.dataset.kind !== kind;
  }

  // ---- start ----------------------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', useToken);
    $('add-form').addEventListener('submit', addServer);
    $('add-kind').addEventListener('change', showKind);
    $('call-form').addEventListener('submit', callTool);
    $('call-tool').addEventListener('change', onToolChosen);
    $('errors-only').addEventListener('change', renderEvents);
    $('chart-minutes').addEventListener('change', renderChart);
    $('check-all').addEventListener('click', async () => {
      try {
        const r = await api('POST', '/health/check');
        toast(r.ok ? `Checked ${r.data.servers.length} server(s): ${r.data.summary.healthy} healthy` : r.data.error, !r.ok);
      } catch (e) { toast('Check failed: ' + e.message, true); }
      refresh();
    });
    window.addEventListener('resize', () => { if (state.history) renderChart(); });
    refresh().then(loadEvents).then(listen);
    setInterval(refresh, REFRESH_MS);
  });
})();
