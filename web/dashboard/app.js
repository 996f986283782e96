// gridwall dashboard: the command office in a browser. Plain JavaScript, no
// build step, nothing fetched from anywhere but reportd. The staff token is
// kept in sessionStorage (this tab only) and sent as "Authorization: Bearer".

const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'gridwall.token';
const OUTCOMES = ['home_observation', 'observation_centre', 'fever_clinic', 'cleared'];
const CHILD = { city: 'district', district: 'town', town: 'community', community: 'grid' };
// The trend charts: [figure, label, kind]. A 'day' figure counts what happened
// that day (the heading sums the days); a 'level' one stands at the day's end
// (the heading gives the last day's).
const SERIES = [
  ['screenings', 'Screenings 筛查', 'day'], ['fevers', 'Fevers 发热', 'day'],
  ['key_persons', 'Key persons 重点人员', 'level'], ['new_alerts', 'New alerts 新预警', 'day'],
];
const TREND_DAYS = 14;
// What a withheld figure (null: a small count, or one that would give a small
// count away; docs/privacy.md) shows as, and says on hover.
const WITHHELD = '—';
const WITHHELD_WHY = 'withheld: a small count, or one that would give one away';

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let area = '';                      // the token's area, as /v1/alerts answers it
const alerts = new Map();           // alert_id -> alert
let streamAbort = null;

// el('li', {class: 'x', onclick: f}, child, 'text', ...): a DOM element.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c !== undefined && c !== null));
  return e;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token}`, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error || `HTTP ${res.status}`), { status: res.status });
  return body;
}

function setStatus(cls, text) {
  const s = $('#live-status');
  s.className = `status ${cls}`;
  s.textContent = text;
}

// ---- signing in and out ---------------------------------------------------

async function signIn(t) {
  token = t.trim();
  try {
    const list = await api('/v1/alerts');
    sessionStorage.setItem(TOKEN_KEY, token);
    area = list.area;
    $('#login').hidden = true;
    $('#app').hidden = false;
    $('#logout').hidden = false;
    alerts.clear();
    for (const a of list.alerts.slice().reverse()) alerts.set(a.alert_id, a);
    renderAlerts();
    startStream();
    loadCoverage(area);
    loadTrends(area);
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('#login-error').textContent = e.status === 401 ? 'Unknown, expired or revoked token.' : e.message;
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

// ---- alerts ---------------------------------------------------------------

function renderAlerts() {
  const list = $('#alert-list');
  const sorted = [...alerts.values()].sort((a, b) =>
    (b.raised_at || '').localeCompare(a.raised_at || '') || b.alert_id - a.alert_id);
  list.replaceChildren(...sorted.map(alertItem));
  const open = sorted.filter((a) => a.state === 'open').length;
  $('#alert-count').textContent = `${sorted.length} · ${open} open`;
}

function alertItem(a) {
  const who = a.person_name || a.household_code || '';
  const rules = (a.rule_ids || []).join(', ');
  const reasons = (a.reasons || []).join('; ');
  const done = a.state === 'resolved';
  const outcome = el('select', { class: 'outcome', 'aria-label': 'outcome', disabled: done },
    ...OUTCOMES.map((o) => el('option', { value: o }, o)));
  return el('li', { class: `alert level-${a.level} state-${a.state}${a.fresh ? ' fresh' : ''}`, 'data-id': a.alert_id },
    el('div', { class: 'top' },
      el('span', { class: 'badge level' }, String(a.level)),
      el('span', { class: 'badge kind' }, String(a.kind)),
      el('span', { class: 'name' }, who),
      el('span', { class: 'masked' }, a.id_masked || ''),
      el('span', { class: 'badge state' }, a.state + (a.assigned_team ? ` · ${a.assigned_team}` : '') +
        (a.outcome ? ` · ${a.outcome}` : '')),
      el('span', { class: 'time' }, a.raised_at ? new Date(a.raised_at).toLocaleString() : '')),
    el('div', { class: 'path' }, a.area_path || a.grid_code || ''),
    el('div', { class: 'why' }, [rules, reasons].filter(Boolean).join(' — ')),
    a.action ? el('div', { class: 'action' }, `→ ${a.action}`) : null,
    el('div', { class: 'actions' },
      el('button', { class: 'ack', disabled: a.state !== 'open', onclick: () => act(a, 'ack') }, 'Acknowledge'),
      el('button', { class: 'assign', disabled: done, onclick: () => assign(a) }, 'Assign'),
      outcome,
      el('button', { class: 'resolve', disabled: done, onclick: () => act(a, 'resolve', { outcome: outcome.value }) },
        'Resolve')));
}

function assign(a) {
  const team = prompt('Assign to which team?', a.assigned_team || '');
  if (team && team.trim()) act(a, 'assign', { team: team.trim() });
}

async function act(a, action, body = {}) {
  $('#alert-error').textContent = '';
  try {
    const updated = await api(`/v1/alerts/${a.alert_id}/${action}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    alerts.set(updated.alert_id, updated);
    renderAlerts();
  } catch (e) {
    $('#alert-error').textContent = `${action} of alert ${a.alert_id}: ${e.message}`;
  }
}

// Live alerts: Server-Sent Events read with fetch(), since EventSource cannot
// send the Authorization header. On a break, reconnect and reload the list.
async function startStream() {
  let delay = 2000;
  for (;;) {
    streamAbort = new AbortController();
    try {
      const res = await fetch('/v1/alerts/stream', {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        signal: streamAbort.signal,
      });
      if (res.status === 401) return signOut();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setStatus('live', 'live');
      await readEvents(res.body, (event, data) => {
        if (event === 'alert' || event === 'state') {
          const a = JSON.parse(data);
          a.fresh = event === 'alert';
          if (a.fresh) setTimeout(() => { a.fresh = false; }, 2000);
          alerts.set(a.alert_id, a);
          renderAlerts();
        }
      }, (ms) => { delay = ms; });
    } catch (e) {
      if (e.name === 'AbortError') return;
    }
    setStatus('retry', 'reconnecting');
    await new Promise((r) => setTimeout(r, delay));
    try {
      const list = await api('/v1/alerts');
      for (const a of list.alerts) alerts.set(a.alert_id, a);
      renderAlerts();
    } catch { /* the next round tries again */ }
  }
}

// Parses an SSE byte stream: events are separated by a blank line; "event:",
// "data:" (joined by newlines) and "retry:" fields; lines from ":" are comments.
async function readEvents(body, onEvent, onRetry) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
        else if (field === 'retry' && /^\d+$/.test(val)) onRetry(Number(val));
      }
      if (data.length) onEvent(event, data.join('\n'));
    }
  }
}

// ---- coverage -------------------------------------------------------------

const trail = [];                  // [{code, name}] from the token's area down

// A published count, or the withheld mark (null).
function count(v) {
  return v === null || v === undefined
    ? el('span', { class: 'withheld', title: WITHHELD_WHY }, WITHHELD)
    : String(v);
}

// The band of a row: its coverage, 'none' when nothing is registered, 'withheld' when a count is.
function band(r) {
  if (r.coverage !== null && r.coverage !== undefined)
    return r.coverage >= 0.8 ? 'high' : r.coverage >= 0.5 ? 'mid' : 'low';
  return r.households_registered === 0 ? 'none' : 'withheld';
}

function coverageText(r) {
  const b = band(r);
  if (b === 'none') return '–';
  if (b === 'withheld') return WITHHELD;
  return `${Math.round(r.coverage * 100)}%`;
}

async function loadCoverage(code, name) {
  const at = trail.findIndex((t) => t.code === code);
  if (at >= 0) trail.length = at + 1;
  else trail.push({ code, name: name || code });
  if (!name && trail.length === 1) {
    api(`/v1/areas?area=${code}&depth=0`).then((r) => {
      if (r.areas[0]) { trail[0].name = r.areas[0].name; renderTrail(); }
    }).catch(() => {});
  }
  renderTrail();
  const body = $('#coverage-table tbody');
  try {
    const cov = await api(`/v1/coverage?area=${code}`);
    $('#coverage-days').textContent = cov.days;
    body.replaceChildren(...cov.rows.map((r) => {
      const drill = CHILD[r.level] && r.code !== code;
      const b = band(r);
      return el('tr', { class: drill ? 'drill' : null, 'data-code': r.code,
        onclick: drill ? () => { loadCoverage(r.code, r.name); loadTrends(r.code, r.name); } : null },
      el('td', {}, r.name), el('td', {}, r.level),
      el('td', { class: 'num registered' }, count(r.households_registered)),
      el('td', { class: 'num not-reached' }, count(r.households_not_reached)),
      el('td', { class: 'num' }, el('span', { class: `band ${b}`,
        title: b === 'withheld' ? WITHHELD_WHY : null }, coverageText(r))));
    }));
  } catch (e) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'error' }, e.message)));
  }
}

function renderTrail() {
  $('#coverage-path').replaceChildren(...trail.map((t, i) =>
    el('button', { type: 'button', onclick: i < trail.length - 1 ? () => { loadCoverage(t.code); loadTrends(t.code, t.name); } : null },
      (i ? '› ' : '') + t.name)));
}

// ---- trends: inline SVG bar charts ----------------------------------------

// YYYY-MM-DD of a UTC date, and the day n days before a YYYY-MM-DD.
function isoDay(d) {
  return d.toISOString().slice(0, 10);
}
function daysBefore(day, n) {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) - n * 86400000));
}

// The last TREND_DAYS days of reportd's calendar (its local day, which may
// not be the browser's): `to` is left out, so reportd answers up to its
// today, and `from` reaches a day further back than any time zone needs.
async function loadTrends(code, name) {
  $('#trend-area').textContent = name || '';
  try {
    const from = daysBefore(isoDay(new Date()), TREND_DAYS + 1);
    const agg = await api(`/v1/aggregates?area=${code}&from=${from}`);
    const days = [];
    for (let i = TREND_DAYS - 1; i >= 0; i--) days.push(daysBefore(agg.to, i));
    const byDay = new Map(agg.rows.map((r) => [r.day, r]));
    if (!name && agg.rows[0]) $('#trend-area').textContent = agg.rows[0].name;
    $('#charts').replaceChildren(...SERIES.map(([key, label, kind]) =>
      chart(key, label, kind, days, days.map((d) => {
        const r = byDay.get(d);
        return r ? r[key] : 0;        // a day without a row: nothing counted
      }))));
  } catch (e) {
    $('#charts').replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

// The heading of a chart: the days' sum for a 'day' figure, the last day's for a 'level' one.
function chartTitle(label, kind, values) {
  const withheld = values.filter((v) => v === null).length;
  if (kind === 'level') {
    const last = values[values.length - 1];
    return `${label}: ${last === null ? WITHHELD : last} today`;
  }
  const total = values.reduce((s, v) => s + (v || 0), 0);
  return `${label}: ${total} in ${values.length} days` + (withheld ? ` (${withheld} withheld)` : '');
}

// One bar per day, the largest value labelled; 14 days in a 280x110 box. A
// withheld day is a grey stub on the axis, never a bar of 0.
function chart(key, label, kind, days, values) {
  const W = 280, H = 110, top = 14, bottom = 16, w = W / days.length;
  const shown = values.filter((v) => v !== null);
  const max = Math.max(1, ...shown);
  const bars = values.map((v, i) => {
    const h = v === null ? 3 : ((H - top - bottom) * v) / max;
    return svg('rect', { class: v === null ? 'bar withheld' : 'bar', x: (i * w + 1).toFixed(1),
      y: (H - bottom - h).toFixed(1), width: (w - 2).toFixed(1), height: h.toFixed(1) },
    svg('title', {}, `${days[i]}: ${v === null ? 'withheld' : v}`));
  });
  return el('div', { class: `chart ${key}` },
    el('h3', {}, chartTitle(label, kind, values)),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label },
      svg('line', { class: 'axis', x1: 0, y1: H - bottom, x2: W, y2: H - bottom }),
      ...bars,
      svg('text', { x: 0, y: 10 }, `max ${Math.max(0, ...shown)}`),
      svg('text', { x: 0, y: H - 3 }, days[0].slice(5)),
      svg('text', { x: W, y: H - 3, 'text-anchor': 'end' }, days[days.length - 1].slice(5))));
}

// ---- start ----------------------------------------------------------------

$('#login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('#login-error').textContent = '';
  signIn($('#token').value);
});
$('#logout').addEventListener('click', signOut);
if (token) signIn(token);
