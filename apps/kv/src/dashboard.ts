/**
 * The web dashboard served at `GET /`: one self-contained HTML page (no external resources) that
 * polls `/cluster/metrics` twice a second and shows the voters and learners, every node's role,
 * membership (voter or learner), term, last log, committed and applied indexes, the leader's view of
 * each replication target (membership, matching index, replication mode), and a write-rate chart. When the node that served the page stops answering, the page polls the other
 * members it has seen (their `/cluster/metrics` allow cross-origin reads).
 *
 * Stable hooks for tests and scripts: every node card is `[data-node-id]` with `data-role` (its
 * Raft state) and `data-member` (`voter`, `learner`, or `none` for a node not in the membership);
 * every replication row is `tr[data-target]` with `data-member`; `#voters` and `#learners` list the
 * ids (or `-`); `#leader` holds the leader's id (or `none`); `#status` says where the last poll went.
 */
export function dashboardHtml(): string {
  return PAGE;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flotilla-kv dashboard</title>
<style>
  :root { --bg:#0f1720; --card:#17212c; --fg:#dbe4ee; --dim:#8193a5; --lead:#f5b841; --ok:#3ccf8e; --bad:#ef5b5b; --cand:#5aa9ef; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; gap:24px; align-items:baseline; padding:16px 24px; border-bottom:1px solid #243241; }
  header h1 { font-size:18px; margin:0; }
  header .dim { color:var(--dim); }
  main { padding:16px 24px; display:grid; gap:16px; }
  #nodes { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:12px; }
  .node { background:var(--card); border:2px solid #243241; border-radius:10px; padding:12px 14px; }
  .node.leader { border-color:var(--lead); box-shadow:0 0 12px rgba(245,184,65,.35); }
  .node.down { opacity:.55; border-style:dashed; border-color:var(--bad); }
  .node h2 { margin:0 0 8px; font-size:16px; display:flex; justify-content:space-between; align-items:center; }
  .role { font-size:12px; padding:2px 8px; border-radius:999px; background:#243241; }
  .role.Leader { background:var(--lead); color:#1b1300; }
  .role.Candidate { background:var(--cand); color:#04121f; }
  .role.down { background:var(--bad); color:#fff; }
  .member { font-size:11px; padding:1px 6px; border-radius:999px; border:1px solid #3a4a5b; color:var(--dim); margin-left:6px; }
  .member.learner { border-color:var(--cand); color:var(--cand); }
  dl { display:grid; grid-template-columns:auto 1fr; gap:2px 12px; margin:0; }
  dt { color:var(--dim); } dd { margin:0; font-variant-numeric:tabular-nums; text-align:right; }
  section { background:var(--card); border-radius:10px; padding:12px 14px; }
  section h3 { margin:0 0 8px; font-size:14px; color:var(--dim); font-weight:600; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #243241; }
  .mode-pipeline { color:var(--ok); } .mode-probing { color:var(--cand); } .mode-snapshot { color:var(--lead); }
  canvas { width:100%; height:160px; display:block; }
  .addr { color:var(--dim); font-size:12px; margin-bottom:6px; }
</style>
</head>
<body>
<header>
  <h1>flotilla-kv</h1>
  <span>leader: <strong id="leader">none</strong></span>
  <span>term: <strong id="term">-</strong></span>
  <span>voters: <strong id="voters">-</strong></span>
  <span>learners: <strong id="learners">-</strong></span>
  <span>writes/s: <strong id="rate">0</strong></span>
  <span class="dim" id="status">connecting…</span>
</header>
<main>
  <div id="nodes"></div>
  <section><h3>Replication (leader's view)</h3>
    <table><thead><tr><th>target</th><th>member</th><th>matching</th><th>lag</th><th>mode</th></tr></thead><tbody id="replication"></tbody></table>
  </section>
  <section><h3>Write rate (entries applied per second on the leader, last 2 minutes)</h3><canvas id="chart" width="1200" height="160"></canvas></section>
</main>
<script>
(() => {
  const POLL_MS = 500;
  const known = new Map(); // id -> addr
  const rates = [];
  let last = null; // {t, index}
  const $ = (id) => document.getElementById(id);
  const fmtLog = (l) => l === null || l === undefined ? '-' : l.term + '-' + l.index;
  const idx = (l) => l === null || l === undefined ? -1 : l.index;
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&':'&amp;', '<':'&lt;', '>':'&gt;', '"':'&quot;' })[c]);

  async function fetchCluster() {
    const sources = [''];
    for (const addr of known.values()) if ('http://' + addr !== location.origin) sources.push('http://' + addr);
    for (const base of sources) {
      try {
        const res = await fetch(base + '/cluster/metrics', { signal: AbortSignal.timeout(1500), cache: 'no-store' });
        const body = await res.json();
        if (body && body.Ok) return { data: body.Ok, from: base || location.host };
      } catch (e) { /* try the next member */ }
    }
    return null;
  }

  function render(data, from) {
    const nodes = data.nodes;
    for (const n of nodes) if (n.addr) known.set(n.id, n.addr);
    const up = nodes.filter((n) => n.ok);
    const leaders = up.filter((n) => n.metrics.state === 'Leader');
    const leader = leaders.length === 0 ? null : leaders.reduce((a, b) => a.metrics.current_term >= b.metrics.current_term ? a : b);
    $('leader').textContent = leader ? String(leader.id) : 'none';
    $('term').textContent = up.length ? String(Math.max(...up.map((n) => n.metrics.current_term))) : '-';
    $('status').textContent = 'via ' + from + ' · ' + new Date(data.time).toLocaleTimeString();
    const memberOf = new Map(nodes.map((n) => [String(n.id), n.member ?? 'none']));
    const idsOf = (kind) => nodes.filter((n) => n.member === kind).map((n) => String(n.id)).join(', ') || '-';
    $('voters').textContent = idsOf('voter');
    $('learners').textContent = idsOf('learner');
    const badge = (member) => '<span class="member ' + esc(member) + '">' + esc(member) + '</span>';
    $('nodes').innerHTML = nodes.map((n) => {
      if (!n.ok) {
        return '<div class="node down" data-node-id="' + esc(n.id) + '" data-role="Unreachable" data-member="' + esc(n.member ?? 'none') + '"><h2><span>node ' + esc(n.id) +
          badge(n.member ?? 'none') + '</span> <span class="role down">unreachable</span></h2><div class="addr">' + esc(n.addr ?? '') + '</div><div class="dim">' + esc(n.error ?? '') + '</div></div>';
      }
      const m = n.metrics;
      const isLeader = leader !== null && n.id === leader.id;
      return '<div class="node' + (isLeader ? ' leader' : '') + '" data-node-id="' + esc(n.id) + '" data-role="' + esc(m.state) + '" data-member="' + esc(n.member ?? 'none') + '">' +
        '<h2><span>node ' + esc(n.id) + badge(n.member ?? 'none') + '</span> <span class="role ' + esc(m.state) + '">' + esc(m.state) + '</span></h2>' +
        '<div class="addr">' + esc(n.addr ?? '') + '</div><dl>' +
        '<dt>term</dt><dd>' + m.current_term + '</dd>' +
        '<dt>last log</dt><dd>' + (m.last_log_index ?? '-') + '</dd>' +
        '<dt>committed</dt><dd>' + fmtLog(m.committed) + '</dd>' +
        '<dt>applied</dt><dd>' + fmtLog(m.last_applied) + '</dd>' +
        '<dt>snapshot</dt><dd>' + fmtLog(m.snapshot) + '</dd>' +
        '<dt>leader</dt><dd>' + (m.current_leader ?? '-') + '</dd></dl></div>';
    }).join('');
    const rows = [];
    if (leader && leader.metrics.replication) {
      const lm = leader.metrics;
      for (const [target, matching] of Object.entries(lm.replication)) {
        const mode = lm.replication_mode ? lm.replication_mode[target] : '';
        const lag = (lm.last_log_index ?? -1) - idx(matching);
        const member = memberOf.get(target) ?? 'none';
        rows.push('<tr data-target="' + esc(target) + '" data-member="' + esc(member) + '"><td>node ' + esc(target) + '</td><td>' + badge(member) + '</td><td>' + fmtLog(matching) + '</td><td>' + lag +
          '</td><td class="mode-' + esc(mode) + '">' + esc(mode) + '</td></tr>');
      }
    }
    $('replication').innerHTML = rows.join('') || '<tr><td colspan="5" class="dim">no leader</td></tr>';
    const applied = Math.max(-1, ...up.map((n) => idx(n.metrics.last_applied)));
    const now = performance.now();
    if (last !== null && now > last.t) {
      const rate = Math.max(0, (applied - last.index) / ((now - last.t) / 1000));
      rates.push(rate);
      if (rates.length > 240) rates.shift();
      $('rate').textContent = rate.toFixed(0);
    }
    last = { t: now, index: applied };
    drawChart();
  }

  function drawChart() {
    const c = $('chart');
    const g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    const max = Math.max(10, ...rates);
    g.strokeStyle = '#243241';
    g.fillStyle = '#8193a5';
    g.font = '12px system-ui';
    for (let i = 0; i <= 4; i++) {
      const y = 8 + (c.height - 16) * i / 4;
      g.beginPath(); g.moveTo(40, y); g.lineTo(c.width, y); g.stroke();
      g.fillText(String(Math.round(max * (4 - i) / 4)), 2, y + 4);
    }
    if (rates.length < 2) return;
    const step = (c.width - 40) / 239;
    g.beginPath();
    rates.forEach((r, i) => {
      const x = 40 + (240 - rates.length + i) * step;
      const y = 8 + (c.height - 16) * (1 - r / max);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.strokeStyle = '#3ccf8e';
    g.lineWidth = 2;
    g.stroke();
    g.lineWidth = 1;
  }

  async function tick() {
    const got = await fetchCluster();
    if (got === null) $('status').textContent = 'no member answers';
    else render(got.data, got.from);
    setTimeout(tick, POLL_MS);
  }
  tick();
})();
</script>
</body>
</html>
`;
