// nscope serve's page: the wiring (GET /api/topo) drawn with cytoscape and laid out by ELK,
// what `show` knows about a namespace (GET /api/show/NSREF), the `list` table (GET
// /api/list), and the live stream (GET /api/events, server-sent events). Everything comes
// from this server; the token travels in a cookie the server set when the page was opened.
import cytoscape from 'cytoscape';
import ELK from 'elkjs/lib/elk.bundled.js';

const elk = new ELK();

const $ = (sel) => document.querySelector(sel);
const state = {
  cy: null,
  topo: null,
  signature: '',
  labels: new Map(),      // netns inode -> label
  config: {},
  layoutMs: null,
  liveCount: 0,
  dropped: 0,             // events the server did not send this page (a flood: it sends a sample)
  tracks: new Map(),      // skb-tracking id -> the packet's path: its interfaces, links, namespaces
  lastPath: null,         // the newest tracked packet's path (drawn as `path`)
  marks: new Map(),       // what the lights canvas draws: element id -> hit | dropped | path | path-drop
  timings: {},            // where the time to draw went, for bench/serve
};

// ---- frames while nothing moves -----------------------------------------------------
// cytoscape's renderer asks for every animation frame, whether it draws or not: with 400
// namespaces the frames alone cost Chromium about 5% of a core while nothing moved, which in
// a flood the collection needed (bench/serve). Once nothing was drawn and the user did
// nothing for a second, frames are asked for 10 times a second instead; the next input, or
// cytoscape drawing again (its `render`), brings every frame back. No code here cancels a
// frame, so the timeout ids handed out then are never passed to cancelAnimationFrame.
const kIdleAfterMs = 1000, kIdleFrameMs = 100;
let activeAt = performance.now();
const markActive = () => { activeAt = performance.now(); };
const everyFrame = window.requestAnimationFrame.bind(window);
for (const t of ['pointerdown', 'pointermove', 'wheel', 'keydown', 'touchstart']) {
  window.addEventListener(t, markActive, { capture: true, passive: true });
}
window.requestAnimationFrame = (fn) => (performance.now() - activeAt < kIdleAfterMs
  ? everyFrame(fn) : setTimeout(() => everyFrame(fn), kIdleFrameMs));

const kLiveShown = 100;   // a flood is counted in full; only its newest events are drawn
window.nscope = state;    // for the browser tests and the benchmark

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

async function api(path, options) {
  const r = await fetch(path, { credentials: 'same-origin', ...options });
  const body = await r.json().catch(() => ({ error: `${r.status} ${r.statusText}` }));
  if (!r.ok) throw new Error(body.error || `${r.status}`);
  return body;
}

function setStatus(text) { $('#status').textContent = text; }

// ---- wiring -------------------------------------------------------------------------

function nsLabel(n) {
  let name = (n.names && n.names[0]) || (n.container && (n.container.name || n.container.id)) || String(n.inode || n.node);
  if (n.initial) name += ' (host)';
  if (n.hidden) name += ' (hidden)';
  return name;
}

function containerText(c) {
  if (!c) return '';
  return [c.runtime, c.name || c.id, c.pod].filter(Boolean).join(' ');
}

function ifaceId(node, ifindex) { return `i:${node}:${ifindex}`; }

// The topo document as cytoscape elements: a box per namespace holding its interfaces, an
// edge per link; far ends nscope could not place get a node of their own, marked.
function elements(topo) {
  const els = [];
  const known = new Set();
  state.labels.clear();
  for (const n of topo.nodes) {
    const classes = ['ns'];
    if (n.hidden) classes.push('hidden');
    if (n.initial) classes.push('initial');
    if (n.error) classes.push('error');
    const search = [nsLabel(n), ...(n.names || []), String(n.inode), containerText(n.container), n.command || '']
      .concat(n.interfaces.flatMap((f) => [f.name, f.mac || '', ...(f.addresses || [])])).join(' ').toLowerCase();
    els.push({ group: 'nodes', data: { id: `n:${n.node}`, label: nsLabel(n), inode: n.inode, search }, classes: classes.join(' ') });
    if (n.inode) state.labels.set(String(n.inode), nsLabel(n));
    for (const f of n.interfaces) {
      const id = ifaceId(n.node, f.ifindex);
      known.add(id);
      els.push({
        group: 'nodes',
        data: { id, parent: `n:${n.node}`, label: f.name, iface: f, ns: n.node },
        classes: `iface kind-${f.kind} ${f.up ? 'up' : 'down'}`,
      });
    }
  }
  const seen = new Set();
  for (const e of topo.edges) {
    const from = e.from.node ? ifaceId(e.from.node, e.from.ifindex) : null;
    let to;
    if (e.kind === 'tun') {
      to = `p:${e.to.pid}`;
      if (!known.has(to)) {
        known.add(to);
        els.push({ group: 'nodes', data: { id: to, label: `pid ${e.to.pid}` }, classes: 'process' });
      }
    } else {
      to = e.to.node ? ifaceId(e.to.node, e.to.ifindex) : null;
    }
    if (!from) continue;
    if (!to || !known.has(to)) {
      // A far end in a namespace nscope cannot place: drawn on its own, dangling.
      to = `x:${e.to.netns || '?'}:${e.to.ifindex || e.to.ifname || '?'}`;
      if (!known.has(to)) {
        known.add(to);
        els.push({ group: 'nodes', data: { id: to, label: `${e.to.ifname || '?'} @ ${e.to.netns || 'unknown netns'}` }, classes: 'nowhere' });
      }
    }
    if (!known.has(from)) continue;
    const key = e.kind === 'veth' ? [from, to].sort().join('|') : `${from}|${to}|${e.kind}`;
    if (seen.has(key)) continue;
    seen.add(key);
    els.push({
      group: 'edges',
      data: { id: `e:${key}:${e.kind}`, source: from, target: to, kind: e.kind },
      classes: `kind-${e.kind}${e.dangling ? ' dangling' : ''}`,
    });
  }
  return els;
}

const style = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'text-valign': 'center', 'text-halign': 'center' } },
  { selector: 'node.ns', style: { shape: 'round-rectangle', 'background-color': '#eef3fb', 'border-color': '#6b8bc3',
      'border-width': 1, 'text-valign': 'top', 'text-halign': 'center', 'font-weight': 'bold', padding: 6 } },
  { selector: 'node.ns.initial', style: { 'background-color': '#f3f1e8', 'border-color': '#a8975a' } },
  { selector: 'node.ns.hidden', style: { 'border-style': 'dashed', 'border-color': '#c62828', 'border-width': 2 } },
  { selector: 'node.iface', style: { shape: 'round-rectangle', width: 'label', height: 16, padding: 3,
      'background-color': '#fff', 'border-color': '#8a94a6', 'border-width': 1, 'font-size': 9 } },
  { selector: 'node.iface.down', style: { color: '#9aa0ab', 'border-style': 'dotted' } },
  { selector: 'node.kind-bridge', style: { 'background-color': '#e3f2e1', 'border-color': '#4c9a49' } },
  { selector: 'node.process', style: { shape: 'ellipse', 'background-color': '#fdf0d5', width: 'label', padding: 4, 'font-size': 9 } },
  { selector: 'node.nowhere', style: { shape: 'round-rectangle', 'background-color': '#fdecea', 'border-color': '#c62828',
      'border-style': 'dashed', 'border-width': 1, width: 'label', padding: 4, 'font-size': 9 } },
  { selector: 'edge', style: { width: 1.5, 'line-color': '#6b8bc3', 'curve-style': 'bezier' } },
  { selector: 'edge.kind-master', style: { 'line-color': '#4c9a49', 'line-style': 'dashed', width: 1 } },
  { selector: 'edge.dangling', style: { 'line-color': '#c62828', 'line-style': 'dashed' } },
  { selector: '.faded', style: { opacity: 0.15 } },
  { selector: '.match', style: { 'border-color': '#ff9800', 'border-width': 3 } },
  { selector: 'node.picked', style: { 'border-color': '#e65100', 'border-width': 3 } },
  { selector: 'edge.picked', style: { 'line-color': '#e65100', width: 3 } },
];

// A layered layout over the namespaces alone, each a box sized for its interfaces, with
// an edge wherever a link joins two of them; the interfaces are then stacked inside their box,
// ordered by where their links lead, so links cross as little as the boxes do. Laying out
// the interfaces as ELK children too (hierarchy INCLUDE_CHILDREN) took 9 s for 400
// namespaces on one bridge in headless Chromium here (bench/serve).
const IFACE_H = 22;
const PAD = 10;

// The boxes' places: ELK's layered algorithm (crossing minimisation across layers) up to
// kElkMax boxes; above that a plain layering that takes milliseconds: breadth-first layers
// from the host's namespace (or each component's best-connected box), each layer ordered by
// where its boxes' neighbours in the layer before sit. ELK took 0.7 s (warm node) to 2.5 s
// (a fresh page in headless Chromium) for 400 namespaces on one bridge on this 2-core VM,
// most of a 2 s budget from navigation to a drawn page.
const kElkMax = 120;
const kLayerRows = 12;     // a layer longer than this may wrap into columns
const kBoxRows = 24;       // interfaces a box stacks before it starts another column

function quickLayers(graph, rootOf) {
  const byId = new Map(graph.children.map((c) => [c.id, { ...c, nbrs: [] }]));
  for (const e of graph.edges) {
    byId.get(e.sources[0]).nbrs.push(e.targets[0]);
    byId.get(e.targets[0]).nbrs.push(e.sources[0]);
  }
  const placed = new Map();
  let top = 0;
  const GAP_X = 80, GAP_Y = 14;
  // Components, biggest first; each laid out in layers left to right.
  const seen = new Set();
  const comps = [];
  for (const c of graph.children) {
    if (seen.has(c.id)) continue;
    const comp = [];
    const stack = [c.id];
    seen.add(c.id);
    while (stack.length) {
      const id = stack.pop();
      comp.push(id);
      for (const n of byId.get(id).nbrs) if (!seen.has(n)) { seen.add(n); stack.push(n); }
    }
    comps.push(comp);
  }
  comps.sort((x, y) => y.length - x.length);
  for (const comp of comps) {
    const root = rootOf(comp) || comp.reduce((b, id) => (byId.get(id).nbrs.length > byId.get(b).nbrs.length ? id : b), comp[0]);
    const layer = new Map([[root, 0]]);
    const layers = [[root]];
    for (let i = 0; i < layers.length; i++) {
      for (const id of layers[i]) {
        for (const n of byId.get(id).nbrs) {
          if (layer.has(n)) continue;
          layer.set(n, i + 1);
          (layers[i + 1] = layers[i + 1] || []).push(n);
        }
      }
    }
    let x = 0, height = 0;
    const pos = new Map();
    layers.forEach((ids, i) => {
      if (i > 0) {
        const bary = (id) => {
          const ps = byId.get(id).nbrs.filter((n) => layer.get(n) === i - 1);
          return ps.length ? ps.reduce((s, n) => s + pos.get(n).order, 0) / ps.length : 0;
        };
        ids = ids.map((id) => [bary(id), id]).sort((a, b) => a[0] - b[0]).map(([, id]) => id);
      }
      // A long layer (400 containers on one bridge) wraps into columns, so the picture
      // stays about as wide as it is tall.
      const rows = Math.max(kLayerRows, Math.ceil(Math.sqrt(ids.length * 4)));
      let y = 0, w = 0;
      ids.forEach((id, order) => {
        if (order > 0 && order % rows === 0) {
          x += w + GAP_Y * 2;
          height = Math.max(height, y);
          y = 0;
          w = 0;
        }
        const c = byId.get(id);
        pos.set(id, { x, y, order, width: c.width, height: c.height });
        y += c.height + GAP_Y;
        w = Math.max(w, c.width);
      });
      height = Math.max(height, y);
      layers[i] = ids;
      x += w + GAP_X;
    });
    // Each layer centred on the tallest.
    for (const ids of layers) {
      const bottom = Math.max(...ids.map((id) => pos.get(id).y + pos.get(id).height));
      const shift = (height - bottom) / 2;
      for (const id of ids) { const p = pos.get(id); placed.set(id, { ...p, y: top + p.y + shift }); }
    }
    top += height + 30;
  }
  return { children: [...placed.entries()].map(([id, p]) => ({ id, ...p })) };
}

async function layoutWiring(cy) {
  const boxes = cy.nodes('.ns');
  const loose = cy.nodes().orphans().not('.ns');
  const top = (n) => (n.isChild() ? n.parent().id() : n.id());
  const graph = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '14',
      'elk.layered.spacing.nodeNodeBetweenLayers': '80',
      'elk.spacing.componentComponent': '30',
      // Measured on 400 namespaces on one bridge (elkjs in node, this VM): 4.6 s with
      // considerModelOrder, 1.2 s with the default Brandes-Koepf placement, 0.2 s so.
      'elk.layered.nodePlacement.strategy': 'SIMPLE',
      'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
    },
    children: [],
    edges: [],
  };
  const colWidth = new Map();
  boxes.forEach((n) => {
    const kids = n.children();
    let w = 60;
    kids.forEach((k) => { w = Math.max(w, k.width() + 8); });
    colWidth.set(n.id(), w);
    const cols = Math.max(1, Math.ceil(kids.length / kBoxRows));
    const rows = Math.min(kids.length, kBoxRows);
    graph.children.push({ id: n.id(), width: Math.max(90, cols * w + 2 * PAD), height: Math.max(40, PAD * 2 + rows * IFACE_H + 16) });
  });
  loose.forEach((n) => graph.children.push({ id: n.id(), width: n.width() + 10, height: n.height() + 10 }));
  const seen = new Set();
  cy.edges().forEach((e) => {
    const s = top(e.source()), t = top(e.target());
    const key = s < t ? `${s}|${t}` : `${t}|${s}`;
    if (s === t || seen.has(key)) return;
    seen.add(key);
    graph.edges.push({ id: `l${graph.edges.length}`, sources: [s], targets: [t] });
  });
  const t0 = performance.now();
  const initial = boxes.filter('.initial').map((n) => n.id());
  const res = graph.children.length <= kElkMax ? await elk.layout(graph)
    : quickLayers(graph, (comp) => comp.find((id) => initial.includes(id)));
  state.timings.layout_ms = Math.round(performance.now() - t0);
  state.timings.layout = graph.children.length <= kElkMax ? 'elk' : 'layers';
  const at = new Map(res.children.map((c) => [c.id, c]));
  const centerY = (id) => { const c = at.get(id); return c ? c.y + c.height / 2 : 0; };
  cy.batch(() => {
    boxes.forEach((n) => {
      const c = at.get(n.id());
      const kids = n.children();
      if (kids.empty()) {
        n.position({ x: c.x + c.width / 2, y: c.y + c.height / 2 });
        return;
      }
      // Where each interface's links lead, on average; interfaces without any go last.
      const lead = (k) => {
        const far = k.connectedEdges().connectedNodes().filter((o) => top(o) !== n.id());
        if (far.empty()) return Infinity;
        let sum = 0;
        far.forEach((o) => { sum += centerY(top(o)); });
        return sum / far.length;
      };
      const ordered = kids.toArray().map((k) => [lead(k), k]).sort((x, y) => x[0] - y[0]);
      const w = colWidth.get(n.id());
      const cols = Math.ceil(ordered.length / kBoxRows);
      const left = c.x + c.width / 2 - (cols * w) / 2;
      ordered.forEach(([, k], i) => k.position({
        x: left + Math.floor(i / kBoxRows) * w + w / 2,
        y: c.y + PAD + 16 + (i % kBoxRows) * IFACE_H + IFACE_H / 2,
      }));
    });
    loose.forEach((n) => { const c = at.get(n.id()); n.position({ x: c.x + c.width / 2, y: c.y + c.height / 2 }); });
  });
  cy.fit(undefined, 20);
}

function signature(topo) {
  return topo.nodes.map((n) => `${n.node}:${n.interfaces.map((f) => `${f.ifindex}${f.name}${f.up}`).join(',')}`).join(';') +
    '|' + topo.edges.map((e) => `${e.kind}${e.from.node}${e.from.ifindex}${e.to.node || e.to.pid}${e.to.ifindex}`).join(';');
}

function draw(topo) {
  const t0 = performance.now();
  document.body.dataset.layout = 'running';
  const els = elements(topo);
  if (!state.cy) {
    state.cy = cytoscape({ container: $('#graph'), style, elements: [], wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 4 });
    state.cy.on('tap', 'node.ns', (ev) => showNamespace(ev.target));
    state.cy.on('tap', 'node.iface', (ev) => pickInterface(ev.target));
    state.cy.on('tap', (ev) => { if (ev.target === state.cy) clearPick(); });
    state.cy.on('render', () => {
      markActive();
      if (state.marks.size) scheduleLights();
    });
  }
  const cy = state.cy;
  cy.batch(() => {
    cy.elements().remove();
    cy.add(els);
  });
  state.timings.elements_ms = Math.round(performance.now() - t0);
  layoutWiring(cy).then(() => {
    state.layoutMs = Math.round(performance.now() - t0);
    document.body.dataset.layout = 'done';
    document.body.dataset.layoutMs = String(state.layoutMs);
    // Since navigation started: what the benchmark reports.
    document.body.dataset.layoutAt = String(Math.round(performance.now()));
    const nns = topo.nodes.length;
    setStatus(`${nns} namespace${nns === 1 ? '' : 's'}, ${cy.edges().length} links · laid out in ${state.layoutMs} ms`);
    applySearch();
  }).catch((err) => setStatus(`layout: ${err.message}`));
}

// Changes come in bursts (a container's start is a dozen events): the wiring is read again
// once the one read under way is done, and once for all that came meanwhile.
let topoBusy = false, topoAgain = false;
async function wiringChanged() {
  if (topoBusy) { topoAgain = true; return; }
  topoBusy = true;
  do {
    topoAgain = false;
    await refreshTopo();
  } while (topoAgain);
  topoBusy = false;
}

async function refreshTopo(force = false) {
  try {
    const t0 = performance.now();
    const topo = await api('/api/topo');
    state.timings.topo_ms = Math.round(performance.now() - t0);
    const sig = signature(topo);
    state.topo = topo;
    if (force || sig !== state.signature) {
      state.signature = sig;
      draw(topo);
    }
  } catch (err) {
    setStatus(`topo: ${err.message}`);
  }
}

function applySearch() {
  const cy = state.cy;
  if (!cy) return;
  const q = $('#search').value.trim().toLowerCase();
  cy.batch(() => {
    cy.elements().removeClass('faded match');
    if (!q) return;
    const hits = cy.nodes('.ns').filter((n) => n.data('search').includes(q));
    hits.addClass('match');
    const keep = hits.union(hits.descendants()).union(hits.descendants().connectedEdges());
    cy.elements().not(keep).not(keep.connectedNodes()).addClass('faded');
  });
}

function clearPick() { state.cy.elements().removeClass('picked'); }

// An interface: its link and where it leads, highlighted with the far end.
function pickInterface(node) {
  clearPick();
  const edges = node.connectedEdges();
  node.addClass('picked');
  edges.addClass('picked');
  edges.connectedNodes().addClass('picked');
  const f = node.data('iface');
  const d = $('#details');
  d.replaceChildren(el('h3', {}, `${f.name} (${f.kind})`), table([
    ['ifindex', f.ifindex], ['state', f.state], ['mtu', f.mtu], ['mac', f.mac || '-'],
    ['addresses', (f.addresses || []).join(' ') || '-'],
    ['leads to', edges.map((e) => { const o = e.source().same(node) ? e.target() : e.source();
      const p = o.parent(); return `${e.data('kind')}: ${o.data('label')}${p.nonempty() ? ' in ' + p.data('label') : ''}`; }).join('; ') || '-'],
  ]));
}

function table(rows, head) {
  const t = el('table');
  if (head) t.append(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))));
  const b = el('tbody');
  for (const r of rows) b.append(el('tr', {}, ...r.map((c) => el('td', {}, c))));
  t.append(b);
  return t;
}

// What `show` knows about one namespace.
async function showNamespace(node) {
  clearPick();
  node.addClass('picked');
  const d = $('#details');
  d.replaceChildren(el('h3', {}, node.data('label')), el('p', { class: 'hint' }, 'reading…'));
  let s;
  try {
    s = await api(`/api/show/${encodeURIComponent('inode:' + node.data('inode'))}`);
  } catch (err) {
    d.replaceChildren(el('h3', {}, node.data('label')), el('p', {}, err.message));
    return;
  }
  const ns = s.netns;
  const parts = [el('h3', { 'data-inode': String(ns.inode) }, node.data('label')),
    table([['inode', ns.inode], ['nsid', ns.nsid ?? '-'], ['names', (ns.names || []).join(' ') || '-'],
      ['container', containerText(ns.container) || '-'], ['processes', ns.processes]])];
  const ifaces = table((s.interfaces || []).map((f) => [
    f.ifindex, f.name, f.kind, f.state,
    (f.addresses || []).map((a) => `${a.address}/${a.prefixlen}`).join(' '),
    f.peer ? `peer ${f.peer.ifname || f.peer.ifindex} @ ${f.peer.netns_names?.[0] || f.peer.container || f.peer.netns || '?'}` :
      f.master ? `master ${f.master}` : '',
  ]), ['#', 'name', 'kind', 'state', 'addresses', 'link']);
  ifaces.id = 'show-interfaces';
  parts.push(el('h4', {}, 'Interfaces'), ifaces);
  if (s.routes?.length || s.default_routes?.length)
    parts.push(el('h4', {}, 'Routes'), table([...(s.default_routes || []), ...(s.routes || [])].map((r) =>
      [r.dst || 'default', r.gateway || '', r.dev || r.oif || '', r.protocol || ''])));
  if (s.sockets?.length)
    parts.push(el('h4', {}, 'Sockets'), table(s.sockets.map((k) => Object.entries(k).map(([a, b]) => `${a}=${b}`).join(' ')).map((x) => [x])));
  if (s.firewall) parts.push(el('h4', {}, 'Firewall'), el('pre', {}, JSON.stringify(s.firewall, null, 1).slice(0, 4000)));
  if (s.processes?.length)
    parts.push(el('h4', {}, 'Processes'), table(s.processes.slice(0, 200).map((p) => [p.pid, p.command])));
  d.replaceChildren(...parts);
}

// ---- inventory ----------------------------------------------------------------------

const columns = [
  ['NS', (n) => n.inode], ['NAME', (n) => (n.names || []).join(',')], ['CONTAINER', (n) => containerText(n.container)],
  ['NPROCS', (n) => n.processes], ['PID', (n) => n.pid ?? ''], ['NSID', (n) => n.nsid ?? ''],
  ['IFACES', (n) => n.interfaces ?? ''],
  ['HOLDERS', (n) => (n.holders || []).map((h) => h.kind + ':' + Object.entries(h).filter(([k]) => k !== 'kind')
    .map(([, v]) => (typeof v === 'object' ? JSON.stringify(v) : v)).join('/')).join(' ')],
  ['COMMAND', (n) => n.command ?? ''],
];
const inv = { rows: [], sortBy: 0, up: true };

async function refreshList() {
  try {
    const l = await api('/api/list');
    inv.rows = l.namespaces;
    renderList();
  } catch (err) {
    $('#list tbody').replaceChildren(el('tr', {}, el('td', {}, err.message)));
  }
}

function renderList() {
  const head = $('#list thead');
  head.replaceChildren(el('tr', {}, ...columns.map(([name], i) => {
    const th = el('th', { class: i === inv.sortBy ? `sorted${inv.up ? '' : ' up'}` : '' }, name);
    th.addEventListener('click', () => { inv.up = inv.sortBy === i ? !inv.up : true; inv.sortBy = i; renderList(); });
    return th;
  })));
  const q = $('#filter').value.trim().toLowerCase();
  const rows = inv.rows.map((n) => columns.map(([, f]) => f(n)))
    .filter((cells) => !q || cells.join(' ').toLowerCase().includes(q));
  const idx = inv.sortBy;
  rows.sort((a, b) => {
    const x = a[idx], y = b[idx];
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    return inv.up ? c : -c;
  });
  $('#list tbody').replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c)))));
}

// ---- live ---------------------------------------------------------------------------

function b64bytes(s) {
  try { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); } catch { return new Uint8Array(); }
}

// A one-line summary of the packet's first bytes: IPv4/IPv6 addresses and protocol.
function summary(ev) {
  const p = ev.packet;
  if (!p || !p.data) return ev.skb ? `len ${ev.skb.len}` : '';
  const b = b64bytes(p.data);
  let off = 0;
  let type = 0;
  if (b.length >= 14) { type = (b[12] << 8) | b[13]; off = 14; }
  if (b.length > 0 && (b[0] >> 4) === 4 && type !== 0x0800 && type !== 0x86dd) { type = 0x0800; off = 0; }
  const protos = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };
  if (type === 0x0800 && b.length >= off + 20) {
    const ip = (o) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    return `${ip(off + 12)} > ${ip(off + 16)} ${protos[b[off + 9]] || 'proto ' + b[off + 9]} len ${p.len}`;
  }
  if (type === 0x86dd && b.length >= off + 40) return `ipv6 ${protos[b[off + 6]] || 'next ' + b[off + 6]} len ${p.len}`;
  if (type === 0x0806) return `arp len ${p.len}`;
  return `len ${p.len}`;
}

function addLine(cls, text) { addLines([[cls, text]]); }

// Lines newest last, put on top of the pane at once; the pane keeps the newest kPaneLines.
// Once it is full, its oldest items are reused for the new lines rather than made anew (in a
// flood, 400 a second: the garbage they made kept V8's and Blink's collectors busy).
const kPaneLines = 1000;
function addLines(items) {
  if (!items.length) return;
  const list = $('#events');
  const frag = document.createDocumentFragment();
  let reuse = Math.min(items.length, Math.max(0, list.childElementCount + items.length - kPaneLines));
  for (let i = items.length - 1; i >= 0; i--) {
    const [cls, text] = items[i];
    if (reuse-- > 0) {
      const li = list.lastElementChild;
      li.className = cls;
      li.textContent = text;
      frag.append(li);
    } else {
      frag.append(el('li', { class: cls }, text));
    }
  }
  list.prepend(frag);
  while (list.childElementCount > kPaneLines) list.lastElementChild.remove();
}

// ---- packet paths on the wiring ------------------------------------------------------
// Each shown packet lights the interface it was seen at and that interface's namespace;
// with skb-tracking, the same packet's interfaces in turn make its path, and the links
// between them light too. A drop lights red. Lit elements fade after kLitMs; the newest
// tracked packet's whole path stays marked (`path`, `path-drop` where it was dropped) until
// the next one. state.marks names what is drawn: element id -> hit | dropped | path |
// path-drop.
//
// They are drawn on a canvas of their own over the graph (#lights), not as cytoscape
// classes: a class changed on a namespace box makes cytoscape draw its cached textures of the
// whole graph again, for seconds (1.7 ms a frame with 400 namespaces, bench/serve); in a
// flood the lights change 4 times a second, and that renderer took the CPU the collection
// needed.
const kLitMs = 1500;
const lit = new Map();    // element id -> [class, time lit]
let litTimer = null;
let lightsQueued = false;

function light(ele, cls, now) {
  if (!ele || ele.empty()) return;
  ele.forEach((e) => {
    const was = lit.get(e.id());
    lit.set(e.id(), [was && was[0] === 'dropped' ? 'dropped' : cls, now]);  // red stays red
  });
}

function applyLights() {
  const now = performance.now();
  for (const [id, [, at]] of lit) if (now - at > kLitMs) lit.delete(id);
  const marks = new Map();
  for (const [id, [cls]] of lit) marks.set(id, cls);
  const path = state.lastPath;
  if (path) {
    for (const id of path.ifaces.concat(path.edges, path.nses)) if (marks.get(id) !== 'dropped') marks.set(id, 'path');
    if (path.dropAt) marks.set(path.dropAt, 'path-drop');
  }
  state.marks = marks;
  scheduleLights();
  if (lit.size && !litTimer) litTimer = setTimeout(() => { litTimer = null; applyLights(); }, 250);
}

// After cytoscape draws (pan, zoom, layout) and after the marks change: once a frame at most.
function scheduleLights() {
  if (lightsQueued) return;
  lightsQueued = true;
  requestAnimationFrame(drawLights);
}

const kMarkStyle = {
  hit: { line: '#ff6d00', fill: 'rgba(255, 204, 128, 0.55)', width: 2 },
  dropped: { line: '#c62828', fill: 'rgba(239, 154, 154, 0.6)', width: 3 },
  path: { line: '#ff6d00', fill: 'rgba(255, 109, 0, 0.18)', width: 3 },
  'path-drop': { line: '#c62828', fill: 'rgba(239, 154, 154, 0.6)', width: 4 },
};

let lightsShown = false;  // the canvas holds something
function drawLights() {
  lightsQueued = false;
  const cy = state.cy, c = $('#lights');
  if (!cy || !c || (!state.marks.size && !lightsShown)) return;
  lightsShown = state.marks.size > 0;
  const dpr = window.devicePixelRatio || 1;
  const w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  for (const [id, kind] of state.marks) {
    const e = cy.getElementById(id);
    if (e.empty() || !e.visible()) continue;
    const st = kMarkStyle[kind];
    ctx.strokeStyle = st.line;
    ctx.lineWidth = st.width;
    if (e.isEdge()) {
      const s = e.renderedSourceEndpoint(), t = e.renderedTargetEndpoint();
      ctx.beginPath();
      ctx.moveTo(s.x, s.y);
      ctx.lineTo(t.x, t.y);
      ctx.stroke();
      continue;
    }
    const bb = e.renderedBoundingBox({ includeLabels: false, includeOverlays: false });
    // A namespace box is outlined (a fill would hide its interfaces); an interface is filled.
    if (!e.isParent()) {
      ctx.fillStyle = st.fill;
      ctx.fillRect(bb.x1, bb.y1, bb.w, bb.h);
    }
    ctx.strokeRect(bb.x1, bb.y1, bb.w, bb.h);
  }
}

// ---- the live pane, fed by the stream -------------------------------------------------
// Every packet event is counted as its line arrives; only the newest kLiveShown are kept
// (as bytes, not decoded) for the next flush, which decodes, parses and draws them, at most
// 4 times a second: in a flood the page's work per event is finding its line's end, and
// drawing (the list's layout, the wiring's canvas) is held to 400 lines a second, what a
// person can follow at all. Drawn faster, Chromium took a third of a core of two in a flood
// (bench/serve), and the traced rate fell with it.
const kFlushMs = 250;
const shown = { bufs: new Array(kLiveShown), from: new Int32Array(kLiveShown), to: new Int32Array(kLiveShown), next: 0, size: 0 };
const utf8 = new TextDecoder();
let flushTimer = null;

function keepLine(buf, from, to) {
  const i = shown.next;
  shown.bufs[i] = buf;
  shown.from[i] = from;
  shown.to[i] = to;
  shown.next = (i + 1) % kLiveShown;
  if (shown.size < kLiveShown) shown.size++;
  if (!flushTimer) flushTimer = setTimeout(() => requestAnimationFrame(flushPackets), kFlushMs);
}

function flushPackets() {
  flushTimer = null;
  const t0 = performance.now();
  const items = [];
  let path = null;
  const start = (shown.next - shown.size + kLiveShown) % kLiveShown;
  for (let k = 0; k < shown.size; k++) {
    const i = (start + k) % kLiveShown;
    let ev;
    try { ev = JSON.parse(utf8.decode(shown.bufs[i].subarray(shown.from[i], shown.to[i]))); } catch { continue; }
    shown.bufs[i] = null;
    path = onPacket(ev, items) || path;
  }
  shown.size = 0;
  addLines(items);
  if (path) state.lastPath = path;
  applyLights();
  $('#live-counts').textContent = `${state.liveCount} events${state.dropped ? `, ${state.dropped} not sent (a flood: this page gets a sample)` : ''}`;
  state.timings.draw_ms = (state.timings.draw_ms || 0) + performance.now() - t0;
}

// One packet event: its line for the pane, and its place on the packet's path. Returns the
// path when the packet is tracked.
function onPacket(ev, items) {
  const inum = ev.netns ? String(ev.netns.inum) : '';
  const where = state.labels.get(inum) || inum || '?';
  const dev = ev.dev ? ev.dev.name || `if${ev.dev.ifindex}` : '';
  const probe = ev.kernel ? ev.kernel.symbol : '';
  const drop = ev['skb-drop']?.drop_reason;
  items.push([drop ? 'drop packet' : 'packet',
    `${(ev.common?.timestamp / 1e9).toFixed(6)} [${where}] ${dev} ${probe} ${summary(ev)}${drop ? ' DROP ' + drop : ''}`]);
  const cy = state.cy;
  if (!cy) return null;
  const now = performance.now();
  const node = ev.dev && inum ? cy.getElementById(ifaceId(inum, ev.dev.ifindex)) : cy.collection();
  const box = inum ? cy.getElementById(`n:${inum}`) : cy.collection();
  const cls = drop ? 'dropped' : 'hit';
  light(node, cls, now);
  light(box, cls, now);
  const track = ev['skb-tracking'] ? `${ev['skb-tracking'].orig_head}:${ev['skb-tracking'].timestamp}` : null;
  if (!track) return null;
  let p = state.tracks.get(track);
  if (!p) {
    p = { track, ifaces: [], edges: [], nses: [], dropAt: null };
    state.tracks.set(track, p);
    if (state.tracks.size > 5000) state.tracks.delete(state.tracks.keys().next().value);
  }
  if (box.nonempty() && !p.nses.includes(box.id())) p.nses.push(box.id());
  if (node.nonempty()) {
    const before = p.ifaces[p.ifaces.length - 1];
    if (before !== node.id()) {
      if (before) {
        const link = node.edgesWith(cy.getElementById(before));
        link.forEach((e) => { if (!p.edges.includes(e.id())) p.edges.push(e.id()); });
        light(link, cls, now);
      }
      p.ifaces.push(node.id());
    }
  }
  if (drop) p.dropAt = node.nonempty() ? node.id() : box.id();
  return p;
}

function onCollect(s) {
  if (s.startup) return addLine('info', `collection started: ${s.startup.probes.join(', ')}`);
  if (s.stats) return addLine('info', `collection ended: ${s.stats.events} events, ${s.stats.lost} lost in the kernel`);
  if (s.state) {
    const text = s.state === 'idle' ? `idle${s.last?.error ? ' (error: ' + s.last.error + ')' : ''}` : s.state;
    $('#collect-state').textContent = `collection: ${text}${s.lost ? `, ${s.lost} lost` : ''}`;
    document.body.dataset.collect = s.state;
    $('#collect-start').disabled = s.state !== 'idle';
    $('#collect-stop').disabled = s.state === 'idle';
    // The capture of the running or last collection, as pcapng.
    const link = $('#collect-pcapng');
    if (s.state !== 'starting' && (s.state === 'running' || s.last)) link.hidden = false;
  }
}

// The live stream is read with fetch() and parsed here, as bytes, rather than by
// EventSource: during a UDP flood Chromium's EventSource took about 20k events a second on a
// 2-core VM, and a parser over decoded strings 40-60k, far below what the server sends
// (bench/serve). The protocol is the same: messages, ids, and Last-Event-ID on
// reconnecting, so no event is missed that the server still has.
const handlers = {
  hello: (d) => { const h = JSON.parse(d); onCollect(h.collect); document.body.dataset.live = 'connected'; },
  collect: (d) => onCollect(JSON.parse(d)),
  // A namespace appeared or went away (`nscope watch`): redraw what changed. A process
  // entering or leaving changes no wiring.
  netns: (d) => {
    addLine('netns', d);
    const kind = JSON.parse(d).event;
    if (kind !== 'entered' && kind !== 'left') wiringChanged();
  },
  dropped: (d) => { state.dropped = JSON.parse(d).dropped; },
};

const NL = 10;
const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const F_DATA = ascii('data:'), F_EVENT = ascii('event:'), F_ID = ascii('id:');
function field(b, s, e, f) {
  if (e - s < f.length) return -1;
  for (let i = 0; i < f.length; i++) if (b[s + i] !== f[i]) return -1;
  let v = s + f.length;
  if (b[v] === 32) v++;
  return v;
}

// SSE over bytes: a line at a time; a packet message's data lines are counted and the newest
// kept as they come, other messages' data lines decoded and handed over at the blank line
// that ends them.
class StreamParser {
  constructor(live) { this.live = live; this.carry = null; this.type = 'message'; this.texts = []; }
  push(chunk) {
    let start = 0;
    if (this.carry) {
      const nl = chunk.indexOf(NL);
      const joined = new Uint8Array(this.carry.length + (nl < 0 ? chunk.length : nl));
      joined.set(this.carry);
      joined.set(nl < 0 ? chunk : chunk.subarray(0, nl), this.carry.length);
      if (nl < 0) { this.carry = joined; return; }
      this.carry = null;
      this.line(joined, 0, joined.length);
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.carry = chunk.slice(start);
  }
  line(b, s, e) {
    if (s === e) {  // the message's end
      if (this.type !== 'packet' && this.texts.length && handlers[this.type]) handlers[this.type](this.texts.join('\n'));
      this.type = 'message';
      this.texts = [];
      return;
    }
    let v = field(b, s, e, F_DATA);
    if (v >= 0) {
      if (this.type === 'packet') {
        state.liveCount++;
        keepLine(b, v, e);
      } else {
        this.texts.push(utf8.decode(b.subarray(v, e)));
      }
      return;
    }
    if ((v = field(b, s, e, F_EVENT)) >= 0) this.type = utf8.decode(b.subarray(v, e));
    else if ((v = field(b, s, e, F_ID)) >= 0) this.live.lastId = utf8.decode(b.subarray(v, e));
    // comments (": idle") and retry: nothing to do
  }
}

async function connectLive() {
  const live = { lastId: null };
  for (;;) {
    try {
      const headers = live.lastId !== null ? { 'Last-Event-ID': live.lastId } : {};
      const r = await fetch('/api/events', { headers, credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error(`${r.status}`);
      const reader = r.body.getReader();
      const parser = new StreamParser(live);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const t0 = performance.now();
        parser.push(value);
        state.timings.stream_ms = (state.timings.stream_ms || 0) + performance.now() - t0;
        state.timings.stream_bytes = (state.timings.stream_bytes || 0) + value.length;
      }
    } catch (err) {
      // the server went away or refused: try again in a second
    }
    document.body.dataset.live = 'reconnecting';
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function setupCollectForm() {
  const form = $('#collect-form');
  if (!state.config.allow_collect) {
    $('#collect-state').textContent = 'read-only (start serve with --allow-collect to collect from here)';
    return;
  }
  form.hidden = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { collectors: f.get('collectors'), netns: f.get('netns'), filter: f.get('filter'), meta: f.get('meta') };
    try {
      await api('/api/collect', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      addLine('drop', `collect: ${err.message}`);
    }
  });
  $('#collect-stop').addEventListener('click', () => api('/api/collect/stop', { method: 'POST' }).catch((err) => addLine('drop', err.message)));
}

// ---- start --------------------------------------------------------------------------

function setupTabs() {
  for (const b of document.querySelectorAll('.tab')) {
    b.addEventListener('click', () => {
      for (const x of document.querySelectorAll('.tab, .pane')) x.classList.remove('active');
      b.classList.add('active');
      $(`#${b.dataset.tab}`).classList.add('active');
      if (b.dataset.tab === 'inventory') refreshList();
      else state.cy?.resize();
    });
  }
  $('#search').addEventListener('input', applySearch);
  $('#search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && state.cy) { const m = state.cy.nodes('.match'); if (m.nonempty()) state.cy.fit(m, 40); }
  });
  $('#filter').addEventListener('input', renderList);
}

async function main() {
  setupTabs();
  try {
    state.config = await api('/api/config');
  } catch (err) {
    setStatus(err.message);
    return;
  }
  setupCollectForm();
  connectLive();
  await refreshTopo(true);
  // The picture follows changes without a reload: until `nscope watch` pushes them, the
  // wiring is read again every 10 s and redrawn only when it changed.
  setInterval(() => { if (!document.hidden) refreshTopo(); }, 10000);
}

main();
