// The raftstack dashboard page: follows one node's event stream (/v1/dashboard/stream), falls over to
// another member when that node stops answering, and drives the cluster console's control API when the
// page's URL fragment carries its address and token (#control=http://127.0.0.1:P&token=T). On nodes
// started with --auth-token-file the stream needs a read token: from the fragment (#auth=T) or typed
// into the form the page shows after a 401; it is kept for this tab only (sessionStorage).

(() => {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const control = fragment.get("control");
  const token = fragment.get("token");
  const AUTH_KEY = "raftstack-auth";
  let auth = fragment.get("auth") ?? sessionStorage.getItem(AUTH_KEY) ?? "";
  const $ = (id) => document.getElementById(id);
  /** A stream that shows no message for this long is given up for the next member. */
  const STALL_MS = 3500;
  const TIMELINE_SHOWN_MAX = 200;
  const STRIP_WINDOW_S = 300;

  const state = {
    /** Origins to stream from: this page's first, then the members' client URLs. */
    origins: [location.origin],
    current: 0,
    stream: undefined,
    lastMessageAt: 0,
    timeline: [],
    timelineMax: 500,
    rates: [],
    ratesMax: 300,
    latest: undefined,
    processes: new Map(),
    waitingForToken: false,
  };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") node.className = v;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const dash = (v) => (v === undefined || v === null ? "–" : v);

  // ---------------------------------------------------------------- stream

  // The stream is read with fetch rather than EventSource: EventSource cannot send an Authorization header.
  function connect() {
    const origin = state.origins[state.current];
    const aborter = new AbortController();
    state.stream = { close: () => aborter.abort() };
    state.lastMessageAt = Date.now();
    const headers = auth === "" ? {} : { Authorization: `Bearer ${auth}` };
    fetch(`${origin}/v1/dashboard/stream`, { headers, signal: aborter.signal, cache: "no-store" })
      .then(async (res) => {
        if (res.status === 401 || res.status === 403) {
          aborter.abort();
          askForToken(res.status === 401 ? "this cluster needs a token" : "this token may not read");
          return;
        }
        if (!res.ok || res.body === null) return; // The watchdog tries the next member.
        await readEvents(res.body, origin);
      })
      .catch(() => {}); // Aborted, or the node is gone: the watchdog tries the next member.
  }

  /** Splits a Server-Sent Events body into its messages (event name + data line). */
  async function readEvents(body, origin) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data !== "") onMessage(event, JSON.parse(data), origin);
        else state.lastMessageAt = Date.now(); // A keep-alive comment.
      }
    }
  }

  function onMessage(event, d, origin) {
    if (event === "init") {
      state.timeline = d.events.slice();
      state.rates = d.rates.slice();
      state.timelineMax = d.limits.timelineEventsMax;
      state.ratesMax = d.limits.ratePointsMax;
    } else if (event === "update") {
      mergeEvents(d.events);
      for (const r of d.rates) state.rates.push(r);
      if (state.rates.length > state.ratesMax) state.rates.splice(0, state.rates.length - state.ratesMax);
    } else return;
    received(d, origin);
  }

  /** Shows the token form; the stream starts again once a token is entered. */
  function askForToken(why) {
    state.waitingForToken = true;
    $("auth-why").textContent = why;
    $("auth").hidden = false;
    $("leader").textContent = "no access";
    $("leader").className = "badge bad";
  }

  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    auth = $("auth-token").value.trim();
    sessionStorage.setItem(AUTH_KEY, auth);
    $("auth").hidden = true;
    state.waitingForToken = false;
    connect();
  });

  function received(d, origin) {
    state.lastMessageAt = Date.now();
    state.latest = d;
    for (const m of d.members) {
      if (m.clientUrl && !state.origins.includes(m.clientUrl)) state.origins.push(m.clientUrl);
    }
    const own = origin === location.origin;
    $("source").textContent = own
      ? `live from node ${d.node}`
      : `live from node ${d.node} at ${origin}: the node that served this page does not answer`;
    render(d);
  }

  /** Every second: a stream silent for too long (its node died or froze) is replaced by the next member's. */
  function watchdog() {
    if (state.waitingForToken || Date.now() - state.lastMessageAt < STALL_MS) return;
    state.stream?.close();
    state.current = (state.current + 1) % state.origins.length;
    $("source").textContent = `no answer; trying ${state.origins[state.current]}`;
    $("leader").textContent = "reconnecting…";
    $("leader").className = "badge bad";
    connect();
  }

  function mergeEvents(events) {
    if (events.length === 0) return;
    const t = state.timeline;
    for (const e of events) t.push(e);
    t.sort((a, b) => a.atMs - b.atMs);
    if (t.length > state.timelineMax) t.splice(0, t.length - state.timelineMax);
  }

  // ---------------------------------------------------------------- rendering

  function render(d) {
    const badge = $("leader");
    badge.textContent = d.leader === 0 ? "no leader" : `leader: node ${d.leader} (term ${d.term})`;
    badge.className = `badge ${d.leader === 0 ? "bad" : "ok"}`;
    const note = $("note");
    note.textContent = d.note;
    note.className = `note${d.cutOff ? " warn" : ""}`;
    renderMembers(d);
    renderCharts();
    renderTimeline();
    renderStacks(d.stacks);
  }

  function renderMembers(d) {
    const rows = d.members.map((m) => {
      const proc = state.processes.get(m.id);
      const cells = [
        el("td", {}, `node ${m.id}`),
        el("td", { class: `role-${m.role || "none"}` }, dash(m.role)),
        el("td", {}, dash(m.term)),
        el("td", {}, m.leader === undefined ? "–" : m.leader === 0 ? "none" : `node ${m.leader}`),
        el("td", {}, dash(m.commit)),
        el("td", {}, dash(m.applied)),
        el("td", {}, dash(m.lag)),
        el(
          "td",
          m.match === undefined
            ? { class: "match", title: "known only on the leader: its view did not reach this page" }
            : { class: "match" },
          dash(m.match),
        ),
        el(
          "td",
          { class: `health-${m.health.replace(" ", "-")}`, title: m.error || "" },
          m.health + (m.rttMs === undefined ? "" : ` (${m.rttMs} ms)`),
          ...cutOffBadge(m),
        ),
      ];
      if (control) {
        cells.push(el("td", { "data-process": m.id }, proc ? processText(proc) : "?"));
        cells.push(el("td", {}, ...controlButtons(m.id, proc)));
      }
      return el(
        "tr",
        {
          class: [m.self ? "self" : "", m.cutOff ? "cut-off" : ""].join(" ").trim(),
          "data-node": m.id,
          "data-role": m.role || "",
        },
        ...cells,
      );
    });
    $("members").tBodies[0].replaceChildren(...rows);
  }

  /**
   * A member the leader has not heard from for over 2 election timeouts (its view's cutOff): a `cut off`
   * badge and when the leader last heard from it, whatever this page's own request to it got.
   */
  function cutOffBadge(m) {
    if (m.cutOff !== true) return [];
    const heard =
      m.lastHeardMs === null || m.lastHeardMs === undefined
        ? "not heard since the leader took over"
        : `last heard ${m.lastHeardMs} ms ago`;
    const title =
      "the leader has not heard from it for over 2 election timeouts: it takes no part in the quorum";
    return [el("span", { class: "badge cut-off", title }, "cut off"), el("span", { class: "heard" }, heard)];
  }

  /** `exited (SIGKILL)` for a node that ended without the console asking (as the console's status says). */
  function processText(proc) {
    return proc.process === "exited" ? `exited (${proc.exit})` : proc.process;
  }

  function controlButtons(id, proc) {
    const running = proc === undefined || proc.process === "running" || proc.process === "paused";
    const paused = proc !== undefined && proc.process === "paused";
    const button = (action, enabled, danger) =>
      el(
        "button",
        {
          type: "button",
          class: danger ? "danger" : "",
          "data-action": action,
          "data-node": id,
          ...(enabled ? {} : { disabled: "" }),
          on: { click: () => act(`/control/nodes/${id}/${action}`, `${action} node ${id}`) },
        },
        action,
      );
    return [
      button("stop", running, false),
      button("kill", running, true),
      button(paused ? "resume" : "pause", running, false),
      button(running ? "restart" : "start", true, false),
    ];
  }

  // uPlot charts: x is wall-clock seconds.
  const charts = {};
  function chart(id, series) {
    if (charts[id]) return charts[id];
    const box = $(id);
    const opts = {
      width: Math.max(300, box.clientWidth),
      height: 180,
      series: [{}, ...series],
      axes: [{}, { size: 50 }],
      legend: { live: false },
    };
    charts[id] = new uPlot(opts, [[], ...series.map(() => [])], box);
    return charts[id];
  }

  function renderCharts() {
    const r = state.rates;
    const t = r.map((p) => p.t);
    chart("writes-chart", [{ label: "writes/s", stroke: "#2b5cab", fill: "rgba(43,92,171,.1)" }]).setData([
      t,
      r.map((p) => Math.round(p.writesPerSec * 10) / 10),
    ]);
    chart("latency-chart", [
      { label: "p50", stroke: "#1f7a3d" },
      { label: "p99", stroke: "#b3261e" },
      { label: "mean", stroke: "#6b7385", dash: [4, 4] },
    ]).setData([t, r.map((p) => p.p50Ms), r.map((p) => p.p99Ms), r.map((p) => p.meanMs)]);
  }

  window.addEventListener("resize", () => {
    for (const [id, c] of Object.entries(charts))
      c.setSize({ width: Math.max(300, $(id).clientWidth), height: 180 });
  });

  /** The event's group, named by the node that recorded it (eventCategory, src/node/event-text.ts). */
  function category(e) {
    return e.category ?? "other";
  }

  function clock(ms) {
    const d = new Date(ms);
    return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  }

  function renderTimeline() {
    const t = state.timeline;
    $("timeline-count").textContent = `(${t.length} events, newest first)`;
    const items = [];
    for (let i = t.length - 1; i >= 0 && items.length < TIMELINE_SHOWN_MAX; i--) {
      const e = t[i];
      const cat = category(e);
      items.push(
        el(
          "li",
          { class: `cat-${cat}`, "data-type": e.event.type },
          el("span", { class: "time" }, clock(e.atMs)),
          el("span", {}, `node ${e.node}`),
          el("span", {}, e.text),
        ),
      );
    }
    $("timeline").replaceChildren(...items);
    renderStrip();
  }

  /** The last minutes as one lane per node, one tick per event, coloured by kind. */
  function renderStrip() {
    const svg = $("strip");
    const width = svg.clientWidth || 800;
    const nodes = (state.latest?.members || []).map((m) => m.id);
    const lane = 60 / Math.max(1, nodes.length);
    const now = Date.now();
    const colors = {
      leader: "#1f7a3d",
      election: "#b26b00",
      vote: "#9aa1b1",
      transfer: "#1f5fbf",
      stepdown: "#b3261e",
      loss: "#b3261e",
      snapshot: "#6b3fa0",
      other: "#00707a",
    };
    const ns = "http://www.w3.org/2000/svg";
    const shapes = [];
    nodes.forEach((id, i) => {
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", "0");
      label.setAttribute("y", String(i * lane + lane / 2 + 3));
      label.textContent = `n${id}`;
      shapes.push(label);
    });
    for (const e of state.timeline) {
      const age = (now - e.atMs) / 1000;
      const row = nodes.indexOf(e.node);
      if (age > STRIP_WINDOW_S || row < 0) continue;
      const tick = document.createElementNS(ns, "rect");
      tick.setAttribute("x", String(24 + (1 - age / STRIP_WINDOW_S) * (width - 28)));
      tick.setAttribute("y", String(row * lane + 2));
      tick.setAttribute("width", "3");
      tick.setAttribute("height", String(Math.max(2, lane - 4)));
      tick.setAttribute("fill", colors[category(e)] ?? colors.other);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${clock(e.atMs)} node ${e.node}: ${e.text}`;
      tick.append(title);
      shapes.push(tick);
    }
    svg.replaceChildren(...shapes);
  }

  function renderStacks(stacks) {
    if (!stacks) return;
    const more = stacks.count > stacks.shown.length ? `, the ${stacks.shown.length} largest shown` : "";
    $("stacks-count").textContent = `(${stacks.count} stacks, ${stacks.items} items${more})`;
    $("stacks").tBodies[0].replaceChildren(
      ...stacks.shown.map((s) =>
        el(
          "tr",
          { "data-label": s.label },
          el("td", {}, s.label),
          el("td", {}, s.id),
          el("td", { class: "size" }, s.size),
          el("td", { class: "items" }, s.top.join(" · ") + (s.size > s.top.length ? " · …" : "")),
        ),
      ),
    );
  }

  // ---------------------------------------------------------------- control (under raftstack cluster)

  async function call(path, body) {
    const res = await fetch(control + path, {
      method: body === undefined ? "GET" : "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.error || `HTTP ${res.status}`);
    return answer;
  }

  async function act(path, what, body) {
    const out = $("op-result");
    out.textContent = `${what}…`;
    try {
      const answer = await call(path, body ?? {});
      out.textContent = `${what}: ${answer.message || "done"}`;
      await refreshProcesses();
      return answer;
    } catch (err) {
      out.textContent = `${what} failed: ${err.message}`;
      return undefined;
    }
  }

  async function refreshProcesses() {
    try {
      const answer = await call("/control/nodes");
      state.processes = new Map(answer.nodes.map((n) => [n.id, n]));
      if (state.latest) renderMembers(state.latest);
    } catch (err) {
      $("op-result").textContent = `control API: ${err.message}`;
    }
  }

  if (control && token) {
    document.body.classList.add("control");
    $("op-push").addEventListener("click", () =>
      act("/control/push", `push onto ${$("op-label").value}`, {
        label: $("op-label").value,
        item: $("op-item").value,
      }),
    );
    $("op-pop").addEventListener("click", () =>
      act("/control/pop", `pop from ${$("op-label").value}`, { label: $("op-label").value }),
    );
    setInterval(refreshProcesses, 2000);
    void refreshProcesses();
  }

  connect();
  setInterval(watchdog, 1000);
})();
