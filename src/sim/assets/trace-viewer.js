// The simulator's trace viewer: replays one recorded run (the JSON in #trace-data, written by
// `npm run sim -- --seed S --html FILE`) with no network: node roles and terms over virtual time,
// messages in flight, faults, client operations, log and commit indexes, and the violation if any.

(() => {
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const rec = data.recording;
  const ROLES = ["follower", "preCandidate", "candidate", "leader"];
  const STATES = ["up", "down", "paused", "starting"];
  /** Windows (virtual ms) the detail view offers; messages are drawn up to MESSAGES_WINDOW_MS_MAX. */
  const WINDOWS_MS = [500, 1000, 2000, 5000, 10000];
  const MESSAGES_WINDOW_MS_MAX = 5000;
  const IN_FLIGHT_LISTED_MAX = 40;
  /** Marks that are faults the nemesis injected (or their ends), as opposed to the cluster's own events. */
  const FAULT_TEXT = {
    partition: (n, t) => `partition ${n.join(" ")} ${t}`,
    cutOneWay: (n) => `cut ${n[0]} → ${n[1]}`,
    cutNodeOneWay: (n) => `cut node ${n[0]} ${n[1] === 1 ? "outbound" : "inbound"}`,
    star: (n) => `star around node ${n[0]}`,
    bridge: (n, t) => `bridge through node ${n[0]}: ${t}`,
    flapCut: (n, t) => `flap: cut ${n.join(" ")} ${t}`,
    flapJoin: (n, t) => `flap: join ${n.join(" ")} ${t}`,
    isolate: (n) => `isolate leader ${n[0]}`,
    swizzle: (n) => `swizzle: minority ${n.join(" ")}`,
    heal: () => "heal the network",
    healAll: () => "heal all (liveness phase)",
    crash: (n) => `crash node ${n[0]}`,
    repair: (n) => `repair node ${n[0]} (disk wiped, refilled from peers)`,
    pause: (n) => `pause node ${n[0]}`,
    resume: (n) => `resume node ${n[0]}`,
    stop: (n) => `stop leader ${n[0]} (hand over)`,
    stopped: (n) => `node ${n[0]} stopped${n[1] === 1 ? " after handing over" : ""}`,
    transfer: (n) => `transfer leadership ${n[0]} → ${n[1]}`,
    powerCut: (n) => `power cut on node ${n[0]} (unsynced writes lost)`,
    tornTail: (n) => `torn WAL tail on node ${n[0]}: ${n[3]} bytes cut at open`,
    armCrashNewLeaders: (n) => `crash the next ${n[0]} new leaders`,
  };
  const EVENT_TEXT = {
    elected: (n) => `node ${n[0]} elected in term ${n[1]} (last index ${n[2]})`,
    restart: (n) => `restart node ${n[0]}`,
    open: (n) => `node ${n[0]} opened its disk: snapshot ${n[1]}, last index ${n[2]}`,
    restore: (n) => `node ${n[0]} installed snapshot ${n[1]} (term ${n[2]})`,
    liveApplied: (n) => `liveness write applied by node ${n[0]} at index ${n[1]}`,
    unreachable: (n) => `node ${n[0]} told node ${n[1]} is unreachable`,
  };

  const $ = (id) => document.getElementById(id);
  const esc = (s) =>
    String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const ms = (t) => `${(t / 1000).toFixed(3)} s`;
  // The last state may be stamped a rounding step after the run's virtual end (a leader elected at the
  // violation): the run ends no earlier than it, or that state would fall outside every view.
  const lastStateMs = rec.states.length === 0 ? 0 : rec.states[rec.states.length - 1][0];
  const endMs = Math.max(data.stats.virtualMs, rec.violation ? rec.violation.atMs : 0, lastStateMs, 1);

  // ---------------------------------------------------------------- derived data

  /** A torn tail is an `open` that cut bytes: shown as its own fault. */
  const marks = rec.marks.map(([t, kind, nums, text]) => {
    const k = kind === "open" && (nums[3] ?? 0) > 0 ? "tornTail" : kind;
    const fault = k in FAULT_TEXT;
    const describe = FAULT_TEXT[k] ?? EVENT_TEXT[k];
    return {
      t,
      kind: k,
      fault,
      node: nums[0],
      text: describe ? describe(nums, text) : `${kind} ${nums.join(" ")} ${text}`,
    };
  });

  /** Per node: [start, end, state, role, term] segments covering the run. */
  const segments = new Map(rec.nodes.map((id) => [id, []]));
  for (const [t, node, state, role, term] of rec.states) {
    const list = segments.get(node);
    const last = list[list.length - 1];
    if (last) last[1] = t;
    list.push([t, endMs, STATES[state], role === -1 ? "none" : ROLES[role], term]);
  }

  /** Client operations: call to return (or give-up, or the run's end). */
  const ops = new Map();
  for (const [t, kind, client, id, text] of rec.ops) {
    if (kind === "call")
      ops.set(id, { client, id, call: t, end: endMs, input: text, output: "", done: false });
    const op = ops.get(id);
    if (!op) continue;
    if (kind === "return") Object.assign(op, { end: t, output: text, done: true });
    else if (kind === "giveUp")
      Object.assign(op, { end: t, output: "gave up (outcome unknown)", done: true });
  }
  const clients = [...new Set([...ops.values()].map((o) => o.client))].sort((a, b) => a - b);
  const stuck = rec.stuck.map((s) => ({ ...s, end: Number.isFinite(s.ret) ? s.ret : endMs }));
  const violationAt = rec.violation
    ? stuck.length > 0
      ? Math.min(...stuck.map((s) => s.call))
      : rec.violation.atMs
    : undefined;

  const view = { cursor: violationAt ?? 0, windowMs: 2000, playing: false, speed: 0.25 };

  // ---------------------------------------------------------------- header

  function header() {
    const v = rec.violation;
    $("app").innerHTML = `
<header>
  <h1>raftstack simulator — seed ${data.seed}</h1>
  <span class="badge ${data.ok ? "ok" : "bad"}" id="verdict">${data.ok ? "ok" : `VIOLATION of ${esc(v ? v.invariant : "?")}`}</span>
  <span class="muted">linearizability ${esc(data.linearizability)} · trace hash ${esc(data.traceHash)}</span>
</header>
<main>
  ${
    v
      ? `<section class="card violation-box" id="violation"><h2>Violation: ${esc(v.invariant)}</h2>
    <p>${stuck.length > 0 ? `${stuck.length} operation(s) cannot be linearized; the first was called at ${ms(violationAt)} (checked at the end of the run).` : `Detected at ${ms(v.atMs)}.`}
    <button id="goto-violation">show it</button></p><pre>${esc(v.message)}</pre></section>`
      : ""
  }
  <section class="card">
    <div class="controls">
      <button id="play">▶ play</button>
      <label>speed <select id="speed">${[0.05, 0.1, 0.25, 0.5, 1, 2]
        .map((s) => `<option value="${s}"${s === view.speed ? " selected" : ""}>${s}×</option>`)
        .join("")}</select></label>
      <label>window <select id="window">${WINDOWS_MS.map(
        (w) => `<option value="${w}"${w === view.windowMs ? " selected" : ""}>${w / 1000} s</option>`,
      ).join("")}</select></label>
      <input type="range" id="cursor" min="0" max="${Math.ceil(endMs)}" step="1" value="0">
      <span id="cursor-text"></span>
    </div>
    <h2>Whole run <span class="muted">(click to move there)</span></h2>
    <div id="overview"></div>
    <h2>Around the cursor <span class="muted">(roles and terms, messages in flight, faults, client operations)</span></h2>
    <div id="timeline"></div>
    <div class="legend">${ROLES.map((r) => `<span class="key role-${r}">${r}</span>`).join("")}
      <span class="key state-down">down</span><span class="key state-paused">paused</span><span class="key state-starting">starting</span>
      <span class="key fault-key">fault</span><span class="key op-key">client op</span><span class="key stuck-key">not linearizable</span></div>
  </section>
  <section class="grid">
    <div class="card"><h2>At the cursor</h2><table id="at-cursor"></table><h2>Messages in flight</h2><ul id="in-flight"></ul></div>
    <div class="card"><h2>Commit index (solid) and last log index (dashed) per node</h2><div id="chart-index"></div>
      <h2>Messages delivered per ${rec.delivered.bucketMs} ms</h2><div id="chart-messages"></div></div>
  </section>
  <section class="card"><h2>Faults and events</h2>
    <label><input type="checkbox" id="show-events" checked> cluster events (elections, restarts, disk opens)</label>
    <ol id="events"></ol></section>
  <section class="card"><h2>Run</h2><pre>${esc(data.params)}</pre><pre>${esc(statsText())}</pre></section>
</main>`;
  }

  function statsText() {
    const s = data.stats;
    const left = rec.leftOut;
    return [
      `virtual ${(s.virtualMs / 1000).toFixed(1)} s, ${s.events} events, ${s.messages} messages, ${s.committed} committed entries`,
      `ops ${s.ops} (${s.okOps} answered, ${s.unknownOps} unknown)`,
      `faults: ${s.partitions} partitions, ${s.crashes} crashes, ${s.repairs} repairs, ${s.stops} stops, ${s.pauses} pauses, ${s.transfers} transfers, ${s.powerCuts} power cuts, ${s.tornTails} torn WAL tails`,
      `recording left out: ${left.messages} messages (over ${rec.limits.messagesPerSecondMax} per virtual s), ${left.states} states, ${left.marks} marks, ${left.ops} op events`,
    ].join("\n");
  }

  // ---------------------------------------------------------------- timelines (SVG)

  const LABEL_W = 90;
  const NODE_H = 24;
  const GAP = 6;

  function width(box) {
    return Math.max(400, box.clientWidth - 2);
  }

  /** Lanes: nodes, then faults, then one per client. */
  function layout(full) {
    const nodesTop = 18;
    const faultsTop = nodesTop + rec.nodes.length * (NODE_H + GAP);
    const faultsH = full ? 18 : 30;
    const clientsTop = faultsTop + faultsH + GAP;
    const clientH = full ? 4 : 10;
    return {
      nodesTop,
      faultsTop,
      faultsH,
      clientsTop,
      clientH,
      height: clientsTop + clients.length * (clientH + 2) + 4,
    };
  }

  function laneY(l, node) {
    return l.nodesTop + rec.nodes.indexOf(node) * (NODE_H + GAP);
  }

  function svg(box, t0, t1, full) {
    const w = width(box);
    const l = layout(full);
    const x = (t) => LABEL_W + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (w - LABEL_W - 4);
    const inView = (a, b) => b >= t0 && a <= t1;
    const out = [];
    // Axis.
    const step = niceStep((t1 - t0) / 8);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      out.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="12" y2="${l.height}"/>`);
      out.push(`<text class="axis" x="${x(t)}" y="10">${(t / 1000).toFixed(step < 1000 ? 2 : 0)}s</text>`);
    }
    // Node lanes: one rect per state/role segment, term written inside when it fits.
    for (const id of rec.nodes) {
      const y = laneY(l, id);
      out.push(`<text class="lane" x="4" y="${y + NODE_H / 2 + 4}">node ${id}</text>`);
      for (const [a, b, state, role, term] of segments.get(id)) {
        if (!inView(a, b)) continue;
        const cls = state === "up" ? `role-${role}` : `state-${state} role-${role}`;
        const x0 = x(a);
        const wd = Math.max(0.5, x(b) - x0);
        const label =
          state === "down" || state === "starting"
            ? state
            : `${role} term ${term}${state === "paused" ? " (paused)" : ""}`;
        out.push(
          `<rect class="seg ${cls}" data-node="${id}" data-role="${role}" data-term="${term}" x="${x0}" y="${y}" width="${wd}" height="${NODE_H}"><title>node ${id}: ${label}, ${ms(a)} – ${ms(b)}</title></rect>`,
        );
        if (wd > 26 && term >= 0)
          out.push(`<text class="term" x="${x0 + 3}" y="${y + NODE_H / 2 + 4}">t${term}</text>`);
      }
    }
    // Messages in flight, as lines from sender at send time to receiver at delivery.
    if (!full && t1 - t0 <= MESSAGES_WINDOW_MS_MAX) {
      for (const [sent, at, from, to, type, term] of rec.messages) {
        if (!inView(sent, at)) continue;
        const name = rec.messageTypes[type];
        out.push(
          `<line class="msg msg-${name}" x1="${x(sent)}" y1="${laneY(l, from) + NODE_H / 2}" x2="${x(at)}" y2="${laneY(l, to) + NODE_H / 2}"><title>${name} ${from} → ${to} term ${term}, sent ${ms(sent)}, delivered ${ms(at)}</title></line>`,
        );
      }
    }
    // Faults: a tick in the fault lane and a faint line across the nodes.
    out.push(`<text class="lane" x="4" y="${l.faultsTop + 12}">faults</text>`);
    for (const m of marks) {
      if (!m.fault || !inView(m.t, m.t)) continue;
      const xm = x(m.t);
      out.push(
        `<line class="fault-line" x1="${xm}" x2="${xm}" y1="${l.nodesTop}" y2="${l.faultsTop}"/>` +
          `<rect class="fault" data-kind="${m.kind}" x="${xm - 2}" y="${l.faultsTop}" width="4" height="${l.faultsH}"><title>${ms(m.t)} ${esc(m.text)}</title></rect>`,
      );
      if (!full)
        out.push(`<text class="fault-label" x="${xm + 4}" y="${l.faultsTop + 24}">${esc(m.kind)}</text>`);
    }
    // Client operations: one lane per client, a bar from call to return; non-linearizable ones in red.
    clients.forEach((c, i) => {
      const y = l.clientsTop + i * (l.clientH + 2);
      if (!full) out.push(`<text class="lane small" x="4" y="${y + l.clientH - 1}">client ${c}</text>`);
      for (const op of ops.values()) {
        if (op.client !== c || !inView(op.call, op.end)) continue;
        out.push(
          `<rect class="op${op.done ? "" : " op-open"}" x="${x(op.call)}" y="${y}" width="${Math.max(1, x(op.end) - x(op.call))}" height="${l.clientH}"><title>client ${c} #${op.id}: ${esc(op.input)} → ${esc(op.output || "no answer")} (${ms(op.call)} – ${ms(op.end)})</title></rect>`,
        );
      }
      for (const s of stuck) {
        if (s.client !== c || !inView(s.call, s.end)) continue;
        out.push(
          `<rect class="stuck" x="${x(s.call)}" y="${y - 1}" width="${Math.max(2, x(s.end) - x(s.call))}" height="${l.clientH + 2}"><title>not linearizable: ${esc(s.text)}</title></rect>`,
        );
      }
    });
    if (violationAt !== undefined && inView(violationAt, violationAt)) {
      const xv = x(violationAt);
      out.push(
        `<line class="violation" data-invariant="${esc(rec.violation.invariant)}" x1="${xv}" x2="${xv}" y1="12" y2="${l.height}"><title>${esc(rec.violation.invariant)} at ${ms(violationAt)}</title></line>`,
        `<text class="violation-label" x="${Math.min(xv + 4, w - 160)}" y="${l.faultsTop - 2}">✖ ${esc(rec.violation.invariant)}</text>`,
      );
    }
    const xc = x(view.cursor);
    out.push(`<line class="cursor" x1="${xc}" x2="${xc}" y1="12" y2="${l.height}"/>`);
    if (full) {
      const a = x(view.cursor - view.windowMs / 2);
      out.push(
        `<rect class="window" x="${a}" y="12" width="${x(view.cursor + view.windowMs / 2) - a}" height="${l.height - 12}"/>`,
      );
    }
    box.innerHTML = `<svg width="${w}" height="${l.height}" data-from="${t0}" data-to="${t1}">${out.join("")}</svg>`;
  }

  function niceStep(raw) {
    const p = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  // ---------------------------------------------------------------- state at the cursor

  function stateAt(node, t) {
    let found;
    for (const s of segments.get(node)) {
      if (s[0] > t) break;
      found = s;
    }
    return found;
  }

  function sampleAt(t) {
    const ts = rec.samples.t;
    let lo = 0;
    let hi = ts.length - 1;
    if (hi < 0 || ts[0] > t) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function atCursor() {
    const t = view.cursor;
    const i = sampleAt(t);
    const inFlight = rec.messages.filter(([sent, at]) => sent <= t && t < at);
    const rows = rec.nodes.map((id, n) => {
      const s = stateAt(id, t);
      const commit = i < 0 ? -1 : rec.samples.commit[n][i];
      const last = i < 0 ? -1 : rec.samples.last[n][i];
      const shown = (v) => (v < 0 ? "–" : v);
      const role = s ? (s[2] === "up" || s[2] === "paused" ? s[3] : s[2]) : "not started";
      return `<tr data-node="${id}"><td>node ${id}</td><td class="role-text role-${esc(role)}">${esc(role)}${s && s[2] === "paused" ? " (paused)" : ""}</td><td>${s && s[4] >= 0 ? `term ${s[4]}` : "–"}</td><td>commit ${shown(commit)}</td><td>last ${shown(last)}</td><td>${inFlight.filter((m) => m[3] === id).length} msgs to it</td></tr>`;
    });
    $("at-cursor").innerHTML = rows.join("");
    $("in-flight").innerHTML =
      inFlight
        .slice(0, IN_FLIGHT_LISTED_MAX)
        .map(
          ([sent, at, from, to, type, term]) =>
            `<li>${rec.messageTypes[type]} ${from} → ${to} term ${term} (sent ${ms(sent)}, arrives ${ms(at)})</li>`,
        )
        .join("") +
        (inFlight.length > IN_FLIGHT_LISTED_MAX
          ? `<li>… ${inFlight.length - IN_FLIGHT_LISTED_MAX} more</li>`
          : "") || "<li class=muted>none drawn at this instant</li>";
    $("cursor-text").textContent = `${ms(t)} of ${ms(endMs)}`;
    $("cursor").value = String(Math.round(t));
  }

  // ---------------------------------------------------------------- events list

  function eventsList() {
    const showEvents = $("show-events").checked;
    $("events").innerHTML = marks
      .filter((m) => m.fault || (showEvents && m.kind !== "unreachable"))
      .map(
        (m) =>
          `<li class="${m.fault ? "fault-item" : "event-item"}" data-kind="${m.kind}" data-t="${m.t}"><span class="t">${ms(m.t)}</span> ${esc(m.text)}</li>`,
      )
      .concat(
        rec.violation
          ? [
              `<li class="violation-item" data-t="${violationAt}"><span class="t">${ms(violationAt)}</span> ✖ ${esc(rec.violation.invariant)}</li>`,
            ]
          : [],
      )
      .sort((a, b) => Number(/data-t="([^"]+)"/.exec(a)[1]) - Number(/data-t="([^"]+)"/.exec(b)[1]))
      .join("");
  }

  // ---------------------------------------------------------------- charts (uPlot)

  const charts = [];
  const PALETTE = ["#2b5cab", "#1f7a3d", "#b26b00", "#7b3fa0", "#b3261e"];

  /** Draws the cursor and the violation on a chart. */
  const markers = {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const line = (t, color) => {
            const xp = u.valToPos(t / 1000, "x", true);
            ctx.save();
            ctx.strokeStyle = color;
            ctx.lineWidth = 2;
            ctx.beginPath();
            ctx.moveTo(xp, u.bbox.top);
            ctx.lineTo(xp, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          };
          if (violationAt !== undefined) line(violationAt, "#b3261e");
          line(view.cursor, "#444");
        },
      ],
    },
  };

  function chart(box, series, columns, height) {
    const opts = {
      width: width(box),
      height,
      scales: { x: { time: false } },
      axes: [{ label: "virtual s" }, {}],
      series: [{ label: "t (s)" }, ...series],
      plugins: [markers],
      cursor: { drag: { x: true, y: false } },
    };
    charts.push(new uPlot(opts, columns, box));
  }

  function charts_() {
    const xs = rec.samples.t.map((t) => t / 1000);
    const gap = (v) => (v < 0 ? null : v);
    const series = [];
    const cols = [xs];
    rec.nodes.forEach((id, n) => {
      const color = PALETTE[n % PALETTE.length];
      series.push({ label: `commit ${id}`, stroke: color, width: 2 });
      cols.push(rec.samples.commit[n].map(gap));
      series.push({ label: `last ${id}`, stroke: color, dash: [4, 4], width: 1 });
      cols.push(rec.samples.last[n].map(gap));
    });
    chart($("chart-index"), series, cols, 240);
    const b = rec.delivered.bucketMs;
    chart(
      $("chart-messages"),
      [{ label: "delivered", stroke: "#6b7385", fill: "rgba(107,115,133,0.15)" }],
      [rec.delivered.counts.map((_, i) => (i * b) / 1000), rec.delivered.counts],
      180,
    );
  }

  // ---------------------------------------------------------------- wiring

  function render() {
    const half = view.windowMs / 2;
    const t0 = Math.max(0, Math.min(view.cursor - half, endMs - view.windowMs));
    svg($("overview"), 0, endMs, true);
    svg($("timeline"), t0, Math.max(t0 + view.windowMs, t0 + 1), false);
    atCursor();
    for (const c of charts) c.redraw(false, false);
  }

  function moveTo(t) {
    view.cursor = Math.min(Math.max(0, t), endMs);
    render();
  }

  function play(now, last) {
    if (!view.playing) return;
    const next = view.cursor + (now - last) * view.speed;
    if (next >= endMs) {
      view.playing = false;
      $("play").textContent = "▶ play";
    }
    moveTo(next);
    requestAnimationFrame((t) => play(t, now));
  }

  header();
  eventsList();
  charts_();
  render();
  $("cursor").addEventListener("input", (e) => moveTo(Number(e.target.value)));
  $("window").addEventListener("change", (e) => {
    view.windowMs = Number(e.target.value);
    render();
  });
  $("speed").addEventListener("change", (e) => {
    view.speed = Number(e.target.value);
  });
  $("play").addEventListener("click", () => {
    view.playing = !view.playing;
    $("play").textContent = view.playing ? "❚❚ pause" : "▶ play";
    if (view.playing) requestAnimationFrame((t) => play(t, t));
  });
  $("show-events").addEventListener("change", eventsList);
  $("events").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-t]");
    if (li) moveTo(Number(li.dataset.t));
  });
  $("overview").addEventListener("click", (e) => {
    const box = $("overview").getBoundingClientRect();
    const frac = (e.clientX - box.left - LABEL_W) / (box.width - LABEL_W - 4);
    if (frac >= 0) moveTo(frac * endMs);
  });
  $("goto-violation")?.addEventListener("click", () => moveTo(violationAt));
  window.addEventListener("resize", () => {
    for (const c of charts) c.setSize({ width: width(c.root.parentElement), height: c.height });
    render();
  });
})();
