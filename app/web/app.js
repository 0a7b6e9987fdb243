// Trackcast web page: stream list, start form, live view over the events websocket.
// Plain browser JavaScript, no build step and no external resources (the server may be offline).
"use strict";

(() => {
  const REFRESH_MS = 2000;          // stream list refresh period
  const TRAIL_S = 2.0;              // seconds of box centres kept per track for trails
  const FINAL = new Set(["ended", "stopped", "error"]);
  // Saturated colours that stand out on video; a track keeps its colour (palette[id % n]).
  const PALETTE = ["#ff1744", "#00e5ff", "#ffea00", "#d500f9", "#00e676", "#ff9100",
                   "#2979ff", "#f50057", "#76ff03", "#ff3d00", "#1de9b6", "#c6ff00"];

  const $ = (id) => document.getElementById(id);
  const canvas = $("live");
  const ctx = canvas.getContext("2d");

  // Test hook (read by tests/e2e/test_web.py): counters updated on each draw.
  const hook = {
    framesDrawn: 0, boxesDrawn: 0, lastFrameIndex: null, streamId: null, paused: false,
    lastBoxes: [],            // [{id, color, x1, y1, x2, y2}] in canvas pixels, of the frame on screen
    canvasSize: [canvas.width, canvas.height],
  };
  window.trackcast = hook;

  const view = {
    id: null, ws: null, closedByUs: false, retries: 0, retryTimer: null,
    paused: false, overlays: true,
    pending: null, decoding: false,   // newest frame message waiting to be decoded
    latest: null, shown: null,        // {img, msg}: newest decoded / on screen
    trails: new Map(),                // track id -> [{t, x, y}] (source pixels)
    lastT: null, status: "", statusMsg: "", dropped: 0, droppedTotal: 0, lifecycle: { appeared: 0, ended: 0 },
  };
  let streams = [];                   // last GET /v1/streams

  // ---------------------------------------------------------------- errors and API
  function showError(text) {
    $("error-text").textContent = text;
    $("error").hidden = false;
  }
  function clearError() { $("error").hidden = true; }
  $("error-close").addEventListener("click", clearError);

  function formatDetail(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {          // FastAPI validation errors
      return detail.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
    }
    return JSON.stringify(detail);
  }

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (err) {
      throw new Error(`${method} ${path}: the server could not be reached (${err.message})`);
    }
    if (resp.ok) return resp.status === 204 ? null : resp.json();
    let detail = resp.statusText;
    try {
      const data = await resp.json();
      if (data && data.detail !== undefined) detail = formatDetail(data.detail);
    } catch (_) { /* not JSON */ }
    const err = new Error(`${resp.status} ${resp.statusText || ""}: ${detail}`.replace("  ", " "));
    err.status = resp.status;
    throw err;
  }

  // ---------------------------------------------------------------- stream list
  const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function streamRow(s) {
    const final = FINAL.has(s.status);
    const label = s.name || s.source || s.id;
    const actions = el("td", { class: "actions" });
    actions.append(el("button", { type: "button", class: "b-view", onclick: () => openStream(s.id) }, "View"));
    if (!final) {
      actions.append(" ", el("button", { type: "button", class: "b-stop", onclick: () => stopStream(s.id) }, "Stop"));
    }
    actions.append(" ", el("button", { type: "button", class: "b-delete", onclick: () => deleteStream(s.id) }, "Delete"));
    const links = el("div", { class: "downloads" });
    for (const [key, text] of [["jsonl", "JSONL"], ["mot", "MOT"], ["mp4", "MP4"]]) {
      const url = s.results && s.results[key];
      if (!url || (key === "mp4" && !final)) continue;   // the MP4 is complete once the stream is over
      links.append(el("a", { href: url, download: "" }, text));
    }
    actions.append(links);
    const st = s.stats;
    return el("tr", { "data-id": s.id, class: s.id === view.id ? "selected" : "" },
      el("td", { class: "name" },
        el("a", { href: `?stream=${encodeURIComponent(s.id)}`, class: "view",
                  onclick: (ev) => { ev.preventDefault(); openStream(s.id); } }, label),
        el("div", { class: "msg" }, `${s.kind} · ${s.id}`)),
      el("td", {},
        el("span", { class: `status status-${s.status}` }, s.status),
        el("div", { class: "msg" }, s.message || "")),
      el("td", {}, fmt(st.fps)),
      el("td", {}, `${st.frames_processed} / ${st.frames_dropped}`),
      el("td", {}, fmt(st.latency_ms_p50, 0)),
      el("td", {}, `${st.active_tracks} (${st.tracks_seen})`),
      actions);
  }

  async function refreshList() {
    try {
      streams = await api("GET", "/v1/streams");
    } catch (err) {
      $("list-updated").textContent = `(not updated: ${err.message})`;
      return;
    }
    $("streams-body").replaceChildren(...streams.map(streamRow));
    $("streams-empty").hidden = streams.length > 0;
    $("list-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (view.id) updateTitle();
  }

  async function stopStream(id) {
    try { await api("POST", `/v1/streams/${encodeURIComponent(id)}/stop`); } catch (err) { showError(err.message); }
    refreshList();
  }

  async function deleteStream(id) {
    if (!window.confirm(`Delete stream ${id} and its results?`)) return;
    try { await api("DELETE", `/v1/streams/${encodeURIComponent(id)}`); } catch (err) { showError(err.message); }
    if (view.id === id) closeView();
    refreshList();
  }

  // ---------------------------------------------------------------- start form
  function optionsFromForm(isFile) {
    const opts = {};
    const classes = $("f-classes").value.split(",").map((c) => c.trim()).filter(Boolean);
    if (classes.length) opts.classes = classes.map((c) => (/^\d+$/.test(c) ? Number(c) : c));
    for (const [field, key] of [["f-conf", "conf"], ["f-horizon", "horizon_s"], ["f-fps", "fps"]]) {
      const v = $(field).value.trim();
      if (v !== "") opts[key] = Number(v);
    }
    const name = $("f-name").value.trim();
    if (name) opts.name = name;
    if (isFile && $("f-realtime").checked) opts.realtime = true;
    return opts;
  }

  $("create-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearError();
    const url = $("f-url").value.trim();
    const file = $("f-file").files[0];
    if (!url === !file) {
      showError(url ? "Give a URL or a file, not both." : "Give a URL or choose a video file.");
      return;
    }
    const button = $("f-submit");
    button.disabled = true;
    $("f-progress").textContent = file ? `uploading ${file.name}…` : "connecting…";
    try {
      let info;
      if (file) {
        const form = new FormData();
        form.append("file", file, file.name);
        form.append("options", JSON.stringify(optionsFromForm(true)));
        info = await api("POST", "/v1/streams", form);
        $("f-file").value = "";
      } else {
        info = await api("POST", "/v1/streams", { url, options: optionsFromForm(false) });
      }
      await refreshList();
      openStream(info.id);
    } catch (err) {
      showError(`Could not start the stream: ${err.message}`);
    } finally {
      button.disabled = false;
      $("f-progress").textContent = "";
    }
  });

  // ---------------------------------------------------------------- live view
  function updateTitle() {
    const s = streams.find((x) => x.id === view.id);
    $("live-title").textContent = view.id ? `— ${s ? (s.name || s.source) : ""} (${view.id})` : "";
    for (const tr of $("streams-body").querySelectorAll("tr")) {
      tr.classList.toggle("selected", tr.dataset.id === view.id);
    }
  }

  function setStatusLine() {
    const parts = [];
    if (view.status) parts.push(`${view.status}${view.statusMsg ? ": " + view.statusMsg : ""}`);
    const m = view.shown && view.shown.msg;
    if (m) {
      parts.push(`frame ${m.frame_index} · t=${m.timestamp_s.toFixed(2)} s · ${m.tracks.length} tracks · ` +
                 `latency ${fmt(m.latency_ms, 0)} ms`);
    }
    parts.push(`dropped for this view: ${view.droppedTotal}`);
    if (view.paused) parts.push("paused");
    $("live-status").textContent = parts.join(" | ");
    $("live-info").textContent = view.id
      ? `tracks appeared ${view.lifecycle.appeared}, ended ${view.lifecycle.ended}` : "";
  }

  function resetView() {
    view.pending = view.latest = view.shown = null;
    view.trails = new Map();
    view.lastT = null;
    view.status = view.statusMsg = "";
    view.dropped = view.droppedTotal = 0;
    view.lifecycle = { appeared: 0, ended: 0 };
    hook.lastFrameIndex = null;
    hook.lastBoxes = [];
  }

  function disconnect() {
    clearTimeout(view.retryTimer);
    if (view.ws) {
      view.closedByUs = true;
      view.ws.close();
      view.ws = null;
    }
  }

  function openStream(id) {
    disconnect();
    resetView();
    view.id = id;
    view.retries = 0;
    hook.streamId = id;
    const q = new URLSearchParams(location.search);
    q.set("stream", id);
    history.replaceState(null, "", `${location.pathname}?${q}`);
    $("live-placeholder").textContent = "Waiting for frames…";
    $("live-placeholder").hidden = false;
    updateTitle();
    setStatusLine();
    connect();
  }

  function closeView() {
    disconnect();
    resetView();
    view.id = null;
    hook.streamId = null;
    history.replaceState(null, "", location.pathname);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    $("live-placeholder").textContent = "Select a stream to watch it.";
    $("live-placeholder").hidden = false;
    $("live-status").textContent = "—";
    updateTitle();
    setStatusLine();
  }

  function connect() {
    const id = view.id;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/v1/streams/${encodeURIComponent(id)}/events?frames=true`);
    view.ws = ws;
    view.closedByUs = false;
    ws.onmessage = (ev) => {
      if (view.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (view.ws !== ws) return;
      view.ws = null;
      if (view.closedByUs) return;
      if (ev.code === 4404) {
        showError(`Stream ${id}: ${ev.reason || "not found"}`);
        view.status = "not found";
        setStatusLine();
        return;
      }
      if (ev.code === 1000 || ev.code === 1001 || FINAL.has(view.status)) {
        view.statusMsg = view.statusMsg || ev.reason;
        $("live-status").textContent += ` | connection closed (${ev.code}${ev.reason ? ": " + ev.reason : ""})`;
        return;
      }
      // unexpected loss (network, server restart): retry with backoff while the view is open
      const delay = Math.min(10000, 500 * 2 ** view.retries++);
      $("live-status").textContent = `connection lost (code ${ev.code}); retrying in ${(delay / 1000).toFixed(1)} s`;
      view.retryTimer = setTimeout(() => { if (view.id === id && !view.ws) connect(); }, delay);
    };
    ws.onopen = () => { view.retries = 0; };
  }

  function onMessage(msg) {
    switch (msg.type) {
      case "frame":
        updateTrails(msg);
        view.pending = msg;
        if (!view.decoding) decodeLoop();
        break;
      case "status":
        view.status = msg.status;
        view.statusMsg = msg.message || "";
        if (msg.status === "error") showError(`Stream ${msg.stream_id}: ${msg.message}`);
        setStatusLine();
        if (FINAL.has(msg.status)) refreshList();
        break;
      case "dropped":
        view.dropped = msg.count;
        view.droppedTotal = msg.total;
        setStatusLine();
        break;
      case "track":
        if (msg.event in view.lifecycle) view.lifecycle[msg.event] += 1;
        break;
      default:
        break;
    }
  }

  function updateTrails(msg) {
    const t = msg.timestamp_s;
    if (view.lastT !== null && t < view.lastT) view.trails = new Map();   // timeline restarted
    view.lastT = t;
    for (const tr of msg.tracks) {
      const [x1, y1, x2, y2] = tr.xyxy;
      if (!view.trails.has(tr.id)) view.trails.set(tr.id, []);
      view.trails.get(tr.id).push({ t, x: (x1 + x2) / 2, y: (y1 + y2) / 2 });
    }
    for (const [id, pts] of view.trails) {
      while (pts.length && pts[0].t < t - TRAIL_S) pts.shift();
      if (!pts.length) view.trails.delete(id);
    }
  }

  async function decodeLoop() {
    view.decoding = true;
    try {
      while (view.pending) {
        const msg = view.pending;
        view.pending = null;
        if (!msg.image_jpeg_b64) continue;
        const img = new Image();
        img.src = `data:image/jpeg;base64,${msg.image_jpeg_b64}`;
        try { await img.decode(); } catch (_) { continue; }
        if (msg.stream_id !== view.id) continue;   // view switched while decoding
        view.latest = { img, msg };
        if (!view.paused) render(view.latest);
      }
    } finally {
      view.decoding = false;
    }
  }

  const colorOf = (id) => PALETTE[((id % PALETTE.length) + PALETTE.length) % PALETTE.length];

  function render(frame) {
    const { img, msg } = frame;
    if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
    }
    $("live-placeholder").hidden = true;
    ctx.drawImage(img, 0, 0);
    // boxes are in source pixels; the JPEG may be scaled down (at most 960 px wide)
    const [w, h] = msg.image_size || [img.naturalWidth, img.naturalHeight];
    const sx = canvas.width / w;
    const sy = canvas.height / h;
    const boxes = view.overlays ? drawOverlays(msg, sx, sy) : [];
    view.shown = frame;
    hook.framesDrawn += 1;
    hook.boxesDrawn += boxes.length;
    hook.lastFrameIndex = msg.frame_index;
    hook.lastBoxes = boxes;
    hook.canvasSize = [canvas.width, canvas.height];
    setStatusLine();
  }

  function drawOverlays(msg, sx, sy) {
    const t = msg.timestamp_s;
    ctx.save();
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    // trails: box centres of the last TRAIL_S seconds, fading with age
    for (const [id, pts] of view.trails) {
      const shown = pts.filter((p) => p.t <= t && p.t >= t - TRAIL_S);
      if (shown.length < 2) continue;
      ctx.strokeStyle = colorOf(id);
      ctx.lineWidth = 2;
      for (let i = 1; i < shown.length; i++) {
        ctx.globalAlpha = 0.25 + 0.75 * (1 - (t - shown[i].t) / TRAIL_S);
        ctx.beginPath();
        ctx.moveTo(shown[i - 1].x * sx, shown[i - 1].y * sy);
        ctx.lineTo(shown[i].x * sx, shown[i].y * sy);
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
    // forecasts: faint 1-sigma ellipses, then a dashed path from the box centre
    for (const tr of msg.tracks) {
      const pts = (tr.forecast && tr.forecast.points) || [];
      if (!pts.length) continue;
      const color = colorOf(tr.id);
      const [x1, y1, x2, y2] = tr.xyxy;
      ctx.fillStyle = color;
      ctx.strokeStyle = color;
      for (const p of pts) {
        ctx.globalAlpha = 0.05;                // faint: far points have wide, overlapping sigmas
        ctx.beginPath();
        ctx.ellipse(p.x * sx, p.y * sy, Math.max(1, p.sigma_x * sx), Math.max(1, p.sigma_y * sy), 0, 0, 2 * Math.PI);
        ctx.fill();
        ctx.globalAlpha = 0.25;
        ctx.lineWidth = 1;
        ctx.stroke();
      }
      ctx.globalAlpha = 0.95;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(((x1 + x2) / 2) * sx, ((y1 + y2) / 2) * sy);
      for (const p of pts) ctx.lineTo(p.x * sx, p.y * sy);
      ctx.stroke();
      ctx.setLineDash([]);
      const end = pts[pts.length - 1];
      ctx.beginPath();
      ctx.arc(end.x * sx, end.y * sy, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    // boxes with "#id class conf" labels
    const boxes = [];
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (const tr of msg.tracks) {
      const color = colorOf(tr.id);
      const [x1, y1, x2, y2] = [tr.xyxy[0] * sx, tr.xyxy[1] * sy, tr.xyxy[2] * sx, tr.xyxy[3] * sy];
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.setLineDash(tr.state === "new" ? [4, 3] : []);
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      ctx.setLineDash([]);
      const label = `#${tr.id} ${tr.class_name} ${tr.confidence.toFixed(2)}`;
      const tw = ctx.measureText(label).width + 6;
      const ly = y1 >= 15 ? y1 - 15 : y1;                         // above the box, else inside it
      const lx = Math.max(0, Math.min(x1 - 1, canvas.width - tw));  // kept on the canvas
      ctx.fillStyle = color;
      ctx.fillRect(lx, ly, tw, 15);
      ctx.fillStyle = "#000";
      ctx.fillText(label, lx + 3, ly + 1.5);
      boxes.push({ id: tr.id, color, x1, y1, x2, y2 });
    }
    ctx.restore();
    return boxes;
  }

  $("v-pause").addEventListener("click", () => {
    view.paused = !view.paused;
    hook.paused = view.paused;
    $("v-pause").textContent = view.paused ? "Resume" : "Pause";
    if (!view.paused && view.latest) render(view.latest);
    setStatusLine();
  });
  $("v-overlays").addEventListener("change", (ev) => {
    view.overlays = ev.target.checked;
    if (view.shown) render(view.shown);     // redraw the frame on screen (also while paused)
  });
  $("v-close").addEventListener("click", closeView);

  // ---------------------------------------------------------------- start-up
  refreshList();
  setInterval(refreshList, REFRESH_MS);
  const initial = new URLSearchParams(location.search).get("stream");
  if (initial) openStream(initial);
  else setStatusLine();
})();
