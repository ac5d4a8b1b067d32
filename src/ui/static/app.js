// The live view and the replay, in the browser. Plain JavaScript, no
// libraries, drawn with SVG. Two sources feed one model:
//   live:   GET /api/state every 200 ms (Figure 2's state of every node),
//           /api/events (Server-Sent Events) for messages and the event list;
//   replay: a simulator trace (npm run sim -- --seed N --trace FILE), its
//           events folded into the same model up to the slider's position.
'use strict';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const MAX_EVENTS = 200;

const view = {
  mode: 'live',
  members: [],
  processes: false,
  nodes: {},      // name -> node state, as /ui/state's NodeView
  flights: [],    // messages in flight: {from, to, kind, start, end}
  events: [],     // [{text, cls}] newest last
};

// ---------------------------------------------------------------- drawing --

function termColour(term) {
  return `hsl(${(term * 67) % 360}, 65%, 78%)`;
}

function roleOf(n) {
  if (!n || n.error || n.down) return 'down';
  return n.role;
}

function positions() {
  const names = view.members;
  const out = {};
  names.forEach((name, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / names.length;
    out[name] = { x: 260 + 150 * Math.cos(a), y: 210 + 150 * Math.sin(a) };
  });
  return out;
}

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function msgClass(kind) {
  return kind === 'AppendEntries' || kind === 'RequestVote' ? kind : 'reply';
}

function drawRing(now) {
  const svg = $('ring');
  svg.replaceChildren();
  const pos = positions();
  for (const f of view.flights) {
    const a = pos[f.from], b = pos[f.to];
    if (!a || !b) continue;
    const p = Math.min(1, Math.max(0, (now - f.start) / (f.end - f.start)));
    const x = a.x + (b.x - a.x) * p, y = a.y + (b.y - a.y) * p;
    svg.append(el('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: '#eee' }));
    const colour = { AppendEntries: '#1e88e5', RequestVote: '#fb8c00', reply: '#9e9e9e' }[msgClass(f.kind)];
    const dot = el('circle', { cx: x, cy: y, r: 7, fill: colour, class: 'flight', 'data-kind': f.kind });
    dot.append(el('title', {}, `${f.kind} ${f.from} → ${f.to} (term ${f.term})`));
    svg.append(dot);
  }
  for (const name of view.members) {
    const n = view.nodes[name];
    const { x, y } = pos[name];
    const role = roleOf(n);
    const g = el('g', { class: 'node', 'data-node': name, 'data-role': role });
    const fill = { follower: '#cfd8dc', candidate: '#ffcc80', leader: '#81c784', down: '#f5f5f5' }[role] || '#eee';
    g.append(el('circle', { cx: x, cy: y, r: 44, fill, stroke: role === 'down' ? '#999' : '#555', 'stroke-dasharray': role === 'down' ? '4 3' : '' }));
    // The election timer: an arc that fills as the timeout approaches (§5.2).
    const t = n && n.electionTimer;
    if (t && role !== 'down' && t.timeoutMs > 0) {
      const frac = Math.min(0.999, t.elapsedMs / t.timeoutMs);
      const ang = -Math.PI / 2 + 2 * Math.PI * frac;
      const r = 50;
      const d = `M ${x} ${y - r} A ${r} ${r} 0 ${frac > 0.5 ? 1 : 0} 1 ${x + r * Math.cos(ang)} ${y + r * Math.sin(ang)}`;
      g.append(el('path', { d, fill: 'none', stroke: '#e53935', 'stroke-width': 4 }));
    }
    g.append(el('text', { x, y: y - 12, 'text-anchor': 'middle', 'font-weight': 'bold' }, name));
    g.append(el('text', { x, y: y + 10, 'text-anchor': 'middle', 'font-size': 22 }, n && !n.error ? String(n.term) : '?'));
    const sub = n && !n.error ? (n.isolated ? 'isolated' : n.votedFor ? `voted ${n.votedFor}` : '') : 'unreachable';
    g.append(el('text', { x, y: y + 28, 'text-anchor': 'middle', 'font-size': 11 }, sub));
    svg.append(g);
  }
}

function ensureCards() {
  const box = $('cards');
  if (box.childElementCount === view.members.length) return;
  box.replaceChildren();
  for (const name of view.members) {
    const card = document.createElement('div');
    card.className = 'card';
    card.dataset.node = name;
    card.innerHTML = `<h3><span>${name}</span><span class="role"></span></h3><div class="facts"></div><div class="buttons"></div>`;
    const buttons = card.querySelector('.buttons');
    for (const action of ['stop', 'restart', 'isolate', 'heal']) {
      const b = document.createElement('button');
      b.textContent = action;
      b.dataset.action = action;
      b.dataset.node = name;
      b.addEventListener('click', () => control(name, action));
      buttons.append(b);
    }
    box.append(card);
  }
}

function drawCards() {
  ensureCards();
  for (const card of $('cards').children) {
    const n = view.nodes[card.dataset.node];
    const role = roleOf(n);
    card.dataset.role = role;
    card.querySelector('.role').textContent = role;
    const facts = card.querySelector('.facts');
    if (!n || n.error) {
      facts.textContent = n ? n.error : 'no state yet';
    } else {
      const timer = n.electionTimer ? `election timer ${Math.max(0, n.electionTimer.timeoutMs - n.electionTimer.elapsedMs)} ms left` : role === 'leader' ? 'sends heartbeats' : '';
      facts.innerHTML = `term ${n.term} · voted for ${n.votedFor ?? '–'} · leader ${n.leader ?? '–'}<br>` +
        `commitIndex ${n.commitIndex} · lastApplied ${n.lastApplied} · last index ${n.lastIndex}<br>${timer}` +
        (n.isolated ? '<br><span class="isolated">isolated: its transport drops every message</span>' : '');
    }
    const live = view.mode === 'live';
    for (const b of card.querySelectorAll('button')) {
      const a = b.dataset.action;
      b.hidden = !live || ((a === 'stop' || a === 'restart') && !view.processes);
      b.disabled = (a === 'isolate' && (!n || n.error || n.isolated)) || (a === 'heal' && (!n || n.error || !n.isolated));
    }
  }
}

function drawLogs() {
  const box = $('logs');
  box.replaceChildren();
  const leader = view.members.map((m) => view.nodes[m]).find((n) => n && !n.error && n.role === 'leader');
  for (const name of view.members) {
    const n = view.nodes[name];
    const row = document.createElement('div');
    row.className = 'log-row';
    row.dataset.node = name;
    const label = document.createElement('span');
    label.className = 'name';
    label.textContent = name;
    row.append(label);
    const cells = document.createElement('div');
    cells.className = 'cells';
    for (const e of (n && !n.error && n.log) || []) {
      const c = document.createElement('div');
      c.className = 'cell' + (e.index > n.commitIndex ? ' uncommitted' : '') + (e.index === n.commitIndex ? ' commit-edge' : '');
      c.dataset.index = e.index;
      c.dataset.term = e.term;
      c.style.background = termColour(e.term);
      c.title = `index ${e.index}, term ${e.term}${e.label ? `: ${e.label}` : ' (no-op)'}`;
      c.innerHTML = `<span class="t">${e.term}</span><span class="l"></span>`;
      c.querySelector('.l').textContent = e.label ?? '';
      if (leader && leader.progress && leader.progress[name]) {
        const p = leader.progress[name];
        const marks = (p.nextIndex === e.index ? '▲' : '') + (p.matchIndex === e.index ? '●' : '');
        if (marks) c.insertAdjacentHTML('beforeend', `<span class="marks">${marks}</span>`);
      }
      cells.append(c);
    }
    row.append(cells);
    box.append(row);
    if (leader && leader.progress && leader.progress[name]) {
      const p = leader.progress[name];
      const line = document.createElement('div');
      line.className = 'progress';
      line.textContent = `leader ${leader.node}: nextIndex ${p.nextIndex}, matchIndex ${p.matchIndex}`;
      box.append(line);
    }
  }
}

function drawLeases() {
  const rows = [];
  for (const name of view.members) {
    const n = view.nodes[name];
    for (const l of (n && n.leases) || []) {
      rows.push(`${name}: lease ${l.id}, TTL ${l.ttl} s` + (l.remainingMs !== null ? `, ${(l.remainingMs / 1000).toFixed(1)} s left (leader's count)` : ''));
    }
  }
  $('leases').textContent = rows.length ? '' : 'none';
  for (const r of rows) $('leases').append(Object.assign(document.createElement('div'), { textContent: r }));
}

function drawEvents() {
  const list = $('events');
  list.replaceChildren();
  for (const e of view.events.slice(-MAX_EVENTS).reverse()) {
    const li = document.createElement('li');
    li.textContent = e.text;
    if (e.cls) li.className = e.cls;
    list.append(li);
  }
}

function drawAll() {
  drawCards();
  drawLogs();
  drawLeases();
  drawEvents();
  drawRing(clockNow());
}

function clockNow() {
  return view.mode === 'live' ? performance.now() : replay.time;
}

// ----------------------------------------------------------- event text --

function describe(e) {
  const m = e.message;
  const fields = m ? Object.entries(m.fields).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  switch (e.kind) {
    case 'term': return `term is now ${e.term} (${e.reason})`;
    case 'role': return `became ${e.role} in term ${e.term} (${e.reason})`;
    case 'vote': return `${e.granted ? 'granted' : 'refused'} vote to ${e.candidate} in term ${e.term} (${e.reason})`;
    case 'leader': return `leader for term ${e.term} is ${e.leader}`;
    case 'commit': return `committed up to ${e.commitIndex}`;
    case 'drop': return `dropped a message: ${e.reason}`;
    case 'send': return `→ ${m.to ?? 'all'} ${m.kind} t${m.term} ${fields}`;
    case 'receive': return `← ${m.from} ${m.kind} t${m.term} ${fields}`;
    case 'append': return `appended ${e.terms.length} entr${e.terms.length === 1 ? 'y' : 'ies'} from index ${e.firstIndex}`;
    case 'apply': return `applied ${e.index} (term ${e.term}) ${e.label ?? 'no-op'}`;
    case 'fault': return e.node === e.fault ? e.detail : `${e.fault}: ${e.detail}`;
    default: return JSON.stringify(e);
  }
}

function eventLine(e) {
  const cls = e.kind === 'fault' ? (e.fault === 'safety' ? 'failed' : 'fault') : '';
  return { text: `${e.node}: ${describe(e)}`, cls };
}

// ------------------------------------------------------------------ live --

const live = { source: null, poll: null };

async function startLive() {
  const cluster = await (await fetch('/api/cluster')).json();
  view.members = cluster.members.map((m) => m.name);
  view.processes = cluster.processes;
  $('put-node').replaceChildren(...view.members.map((m) => Object.assign(document.createElement('option'), { value: m, textContent: m })));
  resumeLive();
}

function resumeLive() {
  view.mode = 'live';
  view.flights = [];
  view.events = [];
  $('mode').textContent = 'live';
  $('live-controls').hidden = false;
  $('replay-controls').hidden = true;
  $('back-live').hidden = true;
  live.source = new EventSource('/api/events');
  live.source.onmessage = (msg) => onLiveEvent(JSON.parse(msg.data));
  const poll = async () => {
    try {
      const { nodes } = await (await fetch('/api/state')).json();
      view.nodes = nodes;
      drawCards();
      drawLogs();
      drawLeases();
    } catch {
      // The view server itself is gone; keep trying.
    }
  };
  poll();
  live.poll = setInterval(poll, 200);
}

function stopLive() {
  if (live.source) live.source.close();
  if (live.poll) clearInterval(live.poll);
  live.source = live.poll = null;
}

/** Heartbeats and their answers are many: the ring draws them, the list leaves them out. */
function isHeartbeat(e) {
  const m = e.message;
  return m && ((m.kind === 'AppendEntries' && m.fields.entries === 0) || (m.kind === 'Response' && m.fields.success === true));
}

function onLiveEvent(e) {
  if (e.kind !== 'receive' && !isHeartbeat(e)) {
    view.events.push(eventLine(e));
    if (view.events.length > MAX_EVENTS * 2) view.events.splice(0, MAX_EVENTS);
  }
  if (e.kind === 'send') {
    const slow = Number($('slow').value);
    const start = performance.now();
    const targets = e.message.to === null ? view.members.filter((m) => m !== e.message.from) : [e.message.to];
    for (const to of targets) view.flights.push({ from: e.message.from, to, kind: e.message.kind, term: e.message.term, start, end: start + 300 * slow });
    if (view.flights.length > 400) view.flights.splice(0, view.flights.length - 400);
  }
}

async function control(name, action) {
  const body = action === 'isolate' || action === 'heal' ? { isolated: action === 'isolate' } : {};
  const path = action === 'heal' ? 'isolate' : action;
  const r = await fetch(`/api/nodes/${encodeURIComponent(name)}/${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await r.text();
  view.events.push({ text: `page: ${action} ${name}: ${r.ok ? 'done' : text}`, cls: r.ok ? '' : 'fault' });
}

$('put-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const node = $('put-node').value;
  const r = await fetch(`/api/nodes/${encodeURIComponent(node)}/put`, { method: 'POST', body: JSON.stringify({ key: $('put-key').value, value: $('put-value').value }) });
  const body = await r.json().catch(() => ({}));
  $('put-result').textContent = r.ok ? `ok, revision ${body.header?.revision ?? '?'}` : `failed: ${body.error?.message ?? body.message ?? body.error ?? r.status}`;
});

// ---------------------------------------------------------------- replay --

const replay = { trace: null, pos: 0, time: 0, timer: null, flights: [] };

function loadTrace(trace) {
  if (!trace || trace.format !== 'simpleraft-trace/1' || !Array.isArray(trace.events)) throw new Error('not a simpleraft trace (format simpleraft-trace/1)');
  stopLive();
  replay.trace = trace;
  replay.flights = matchFlights(trace.events);
  view.mode = 'replay';
  view.members = trace.nodes;
  view.processes = false;
  $('mode').textContent = `replay: seed ${trace.seed}`;
  $('live-controls').hidden = true;
  $('replay-controls').hidden = false;
  $('back-live').hidden = false;
  $('slider').max = String(trace.events.length);
  const f = trace.failure;
  $('failure').hidden = !f;
  $('goto-failure').hidden = !f;
  $('failure').textContent = f ? `Safety check failed at event ${f.index + 1}: ${f.message}` : '';
  seek(0);
}

/** Pair each send with the receive that delivered it (FIFO per sender, receiver, kind and term). */
function matchFlights(events) {
  const open = new Map();
  const flights = [];
  events.forEach((e, i) => {
    if (e.kind === 'send') {
      const targets = e.message.to === null ? null : [e.message.to];
      for (const to of targets || replay.trace.nodes.filter((n) => n !== e.message.from)) {
        const f = { from: e.message.from, to, kind: e.message.kind, term: e.message.term, sentAt: i, start: e.time, recvAt: Infinity, end: e.time + 5 };
        const key = `${f.from}>${to}:${f.kind}:${f.term}`;
        if (!open.has(key)) open.set(key, []);
        open.get(key).push(f);
        flights.push(f);
      }
    } else if (e.kind === 'receive') {
      const q = open.get(`${e.message.from}>${e.node}:${e.message.kind}:${e.message.term}`);
      const f = q && q.shift();
      if (f) {
        f.recvAt = i;
        f.end = Math.max(e.time, f.start + 1);
      }
    }
  });
  return flights;
}

function freshNode() {
  return { role: 'follower', term: 0, votedFor: null, leader: null, commitIndex: 0, lastApplied: 0, lastIndex: 0, log: [], electionTimer: null, progress: null, leases: [], isolated: false, down: false };
}

function fold(nodes, e) {
  const n = nodes[e.node];
  if (!n) return;
  switch (e.kind) {
    case 'term': n.term = e.term; n.votedFor = null; break;
    case 'role':
      n.role = e.role; n.term = e.term;
      if (e.role === 'candidate') n.votedFor = e.node;
      n.progress = e.role === 'leader' ? {} : null;
      break;
    case 'vote': if (e.granted) n.votedFor = e.candidate; break;
    case 'leader': n.leader = e.leader; break;
    case 'commit': n.commitIndex = e.commitIndex; break;
    case 'append': {
      n.log = n.log.filter((x) => x.index < e.firstIndex);
      e.terms.forEach((term, i) => n.log.push({ index: e.firstIndex + i, term, label: null }));
      n.lastIndex = n.log.length ? n.log[n.log.length - 1].index : 0;
      break;
    }
    case 'apply': {
      // A restarted node re-applies what it had committed before, without a commit event.
      n.lastApplied = e.index;
      n.commitIndex = Math.max(n.commitIndex, e.index);
      const x = n.log.find((l) => l.index === e.index);
      if (x) x.label = e.label;
      break;
    }
    case 'receive':
      if (n.progress && e.message.kind === 'Response' && e.message.fields.success && typeof e.message.fields.matchIndex === 'number') {
        const m = e.message.fields.matchIndex;
        const p = n.progress[e.message.from] || { matchIndex: 0, nextIndex: 1 };
        p.matchIndex = Math.max(p.matchIndex, m);
        p.nextIndex = Math.max(p.nextIndex, m + 1);
        n.progress[e.message.from] = p;
      }
      break;
    case 'fault':
      if (e.fault === 'crashed') { n.down = true; n.role = 'down'; n.progress = null; }
      if (e.fault === 'restarted') { Object.assign(n, { down: false, role: 'follower', commitIndex: 0, lastApplied: 0, leader: null, progress: null }); }
      break;
  }
}

function seek(pos) {
  const t = replay.trace;
  pos = Math.max(0, Math.min(t.events.length, pos));
  const nodes = {};
  for (const name of t.nodes) nodes[name] = freshNode();
  view.events = [];
  for (let i = 0; i < pos; i++) {
    fold(nodes, t.events[i]);
    if (i >= pos - MAX_EVENTS) view.events.push(eventLine(t.events[i]));
  }
  for (const n of Object.values(nodes)) n.log = n.log.slice(-40);
  replay.pos = pos;
  const last = t.events[pos - 1];
  replay.time = last ? last.time : 0;
  view.nodes = nodes;
  view.flights = replay.flights.filter((f) => f.sentAt < pos && f.recvAt >= pos && (f.recvAt !== Infinity || replay.time - f.start <= 5));
  $('slider').value = String(pos);
  const failedHere = t.failure && pos === t.failure.index + 1;
  $('position').textContent = `event ${pos} of ${t.events.length} · t=${replay.time}` + (failedHere ? ' · the failed check' : '');
  $('ring').classList.toggle('failed-step', Boolean(failedHere));
  document.body.dataset.replayPos = String(pos);
  drawAll();
}

$('trace-file').addEventListener('change', async () => {
  const file = $('trace-file').files[0];
  if (!file) return;
  try {
    loadTrace(JSON.parse(await file.text()));
  } catch (e) {
    alert(`Could not load ${file.name}: ${e.message}`);
  }
});
$('slider').addEventListener('input', () => seek(Number($('slider').value)));
$('step-back').addEventListener('click', () => seek(replay.pos - 1));
$('step-forward').addEventListener('click', () => seek(replay.pos + 1));
$('goto-failure').addEventListener('click', () => seek(replay.trace.failure.index + 1));
$('play').addEventListener('click', () => {
  if (replay.timer) {
    clearInterval(replay.timer);
    replay.timer = null;
    $('play').textContent = 'play';
    return;
  }
  $('play').textContent = 'pause';
  replay.timer = setInterval(() => {
    if (replay.pos >= replay.trace.events.length) return $('play').click();
    seek(replay.pos + 1);
  }, 60);
});
$('back-live').addEventListener('click', () => {
  if (replay.timer) $('play').click();
  resumeLive();
});

// ----------------------------------------------------------------- start --

function frame() {
  if (view.mode === 'live') {
    const now = performance.now();
    view.flights = view.flights.filter((f) => f.end > now);
    drawRing(now);
    drawEvents();
  }
  setTimeout(() => requestAnimationFrame(frame), 50);
}

startLive().catch((e) => view.events.push({ text: `page: could not reach the cluster: ${e.message}`, cls: 'fault' }));
frame();
