// The set-up page: polls /api/state once a second, draws the ROI, warp and boxes over
// the pictures, and sends what the user drags to /api/locate. No framework, no build step.
"use strict";

const TOKEN = document.querySelector('meta[name="digitd-token"]').content;
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

let state = null;        // the last /api/state
let locate = null;       // the settings as shown (the server's, or being edited)
let drag = null;         // what a pointer is moving now
let tool = null;         // "box", "row", "roi" or "dial": the next drag draws one
let selected = -1;       // the selected box
let selectedDial = -1;   // the selected dial
let posting = false;
let frameSeq = -1;
let imageBusy = { frame: false, region: false };

function el(tag, attrs, parent) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function svgPoint(svg, event) {
  const pt = svg.createSVGPoint();
  pt.x = event.clientX;
  pt.y = event.clientY;
  const p = pt.matrixTransform(svg.getScreenCTM().inverse());
  return { x: p.x, y: p.y };
}

function say(text, error) {
  const m = $("message");
  m.textContent = text;
  m.classList.toggle("error", Boolean(error));
}

// -- talking to the daemon ------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Digitd-Token": TOKEN },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!response.ok || !data.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function apply(changes, save) {
  posting = true;
  try {
    const result = await post("/api/locate", { locate: changes, save: Boolean(save) });
    $("toml").value = result.toml;
    say(result.saved ? `kept in ${result.saved}` : "applied: the next frame is read with it");
  } catch (err) {
    say(err.message, true);
    if (state) locate = structuredClone(state.locate);  // back to what runs
  } finally {
    posting = false;
    render();
  }
}

async function poll() {
  try {
    const response = await fetch("/api/state");
    if (response.ok) {
      state = await response.json();
      if (!drag && !posting) locate = structuredClone(state.locate);
      showState();
      refreshImages();
      render();
    }
  } catch (err) {
    $("status").textContent = "digitd does not answer";
  }
  setTimeout(poll, 1000);
}

function refreshImages() {
  if (!state.frame || state.frame.seq === frameSeq) return;
  frameSeq = state.frame.seq;
  for (const name of ["frame", "region"]) {
    if (imageBusy[name]) continue;
    imageBusy[name] = true;
    const img = $(name);
    img.onload = img.onerror = () => { imageBusy[name] = false; render(); };
    img.src = `/${name}.jpg?seq=${frameSeq}`;
  }
}

// -- what is read and the state ---------------------------------------------------------

function showState() {
  const reading = state.reading;
  $("value").textContent = reading ? (reading.value || "—") : "…";
  $("value-note").textContent = reading ? `frame ${state.frame.seq}` +
    (reading.extended_value ? ` · extended ${reading.extended_value}` : "") : "waiting for a frame";
  const digits = $("digits");
  digits.replaceChildren();
  if (reading) {
    const all = reading.digits.map((d) => [d, false]).concat(reading.rejected.map((d) => [d, true]));
    all.forEach(([d, refused], i) => {
      const card = document.createElement("div");
      card.className = "digit" + (refused || d.digit === null ? " refused" : "");
      if (state.crops[i]) {
        const img = document.createElement("img");
        img.src = state.crops[i];
        img.alt = "as the model sees it";
        card.appendChild(img);
      }
      const b = document.createElement("b");
      b.textContent = d.digit === null ? "?" : String(d.digit);
      card.appendChild(b);
      const small = document.createElement("div");
      // A wheel at 9.96 is a 0 almost in place: shown as 0.0, not 10.0.
      const tenth = d.position !== undefined ? (Math.round(d.position * 10) % 100) / 10 : null;
      small.textContent = (tenth !== null ? `@${tenth.toFixed(1)} ` : "") +
        (d.confidence * 100).toFixed(0) + " %";
      card.appendChild(small);
      digits.appendChild(card);
    });
  }
  if (!drag && !posting && document.activeElement !== $("toml")) $("toml").value = state.toml;
  $("override-note").textContent = state.override ?
    "an override from this page is in use (state directory, locate.toml)" : "";
  const s = state.stats || {};
  const mqtt = s.mqtt || {};
  const camera = s.camera || {};
  $("status").textContent = `camera ${camera.state || "?"} · ${s.fps ?? "?"} fps · MQTT ` +
    (mqtt.connected ? "connected" : "not connected") + ` · backlog ${mqtt.queued ?? "?"}`;
  const rows = [
    ["Published", state.published ? `${state.published.value} at ${state.published.time}` : "nothing yet"],
    ["Last rejection", state.rejection ?
      `${state.rejection.error}: ${state.rejection.reason} (${state.rejection.time})` : "none"],
    ["Camera", `${camera.state || "?"}${camera.last_error ? " — " + camera.last_error : ""}`],
    ["Frames", `${s.frames ?? "?"} read, ${s.frames_dropped ?? 0} dropped, ${s.frame_ms ?? "?"} ms each`],
    ["MQTT", `${mqtt.connected ? "connected" : "not connected"}; ${mqtt.delivered ?? 0} delivered, ` +
      `${mqtt.queued ?? 0} waiting, ${mqtt.dropped ?? 0} dropped` +
      (mqtt.last_error ? ` — ${mqtt.last_error}` : "")],
    ["Storage", s.storage_error || "ok"],
    ["Up", s.uptime_s !== undefined ? `${Math.round(s.uptime_s)} s` : "?"],
  ];
  const table = $("state");
  table.replaceChildren();
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  $("mode").value = locate.mode;
  $("polarity").value = locate.polarity;
  if (document.activeElement !== $("decimals")) $("decimals").value = locate.decimals;
}

// -- drawing ---------------------------------------------------------------------------

function render() {
  if (!state || !locate) return;
  renderFrame();
  renderRegion();
  for (const b of document.querySelectorAll("button[data-tool]")) {
    b.classList.toggle("active", b.dataset.tool === tool);
  }
}

function renderFrame() {
  const svg = $("frame-svg");
  svg.replaceChildren();
  if (!state.frame) return;
  const { width: W, height: H } = state.frame;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  if (locate.warp) {
    el("polygon", { class: "warp", points: locate.warp.map((p) => p.join(",")).join(" ") }, svg);
    locate.warp.forEach((p, i) => {
      el("circle", { class: "corner", cx: p[0], cy: p[1], r: Math.max(W, H) / 90, "data-drag": "corner", "data-i": i }, svg);
    });
  } else if (locate.roi) {
    const [x, y, w, h] = locate.roi;
    el("rect", { class: "roi", x, y, width: w, height: h, "data-drag": "roi-move" }, svg);
    const r = Math.max(W, H) / 110;
    el("rect", { class: "handle", x: x + w - r, y: y + h - r, width: 2 * r, height: 2 * r, "data-drag": "roi-size" }, svg);
  }
  renderDials(svg, W, H);
  if (state.reading) {
    const all = state.reading.digits.map((d) => [d, false]).concat(state.reading.rejected.map((d) => [d, true]));
    for (const [d, refused] of all) {
      const [x, y, w, h] = d.box;
      el("rect", { class: "read" + (refused || d.digit === null ? " refused" : ""), x, y, width: w, height: h }, svg);
      const t = el("text", { class: "label", x, y: Math.max(12, y - 3) }, svg);
      t.textContent = d.digit === null ? "?" : String(d.digit);
    }
  }
}

// Dials: a circle in its square (frame pixels), dragged like a box; the needle the reader
// found drawn from its hub, and the position beside it.
function renderDials(svg, W, H) {
  const read = (state.reading && state.reading.dials) || [];
  const r = Math.max(W, H) / 110;
  (locate.dials || []).forEach((b, i) => {
    const [x, y, w, h] = b;
    const d = read[i];
    const cls = "dial" + (i === selectedDial ? " selected" : "") + (d && d.position === null ? " refused" : "");
    el("rect", { class: cls, x, y, width: w, height: h, "data-drag": "dial-move", "data-i": i }, svg);
    el("circle", { class: cls, cx: x + w / 2, cy: y + h / 2, r: Math.min(w, h) / 2,
      "data-drag": "dial-move", "data-i": i }, svg);
    el("rect", { class: "handle", x: x + w - r, y: y + h - r, width: 2 * r, height: 2 * r,
      "data-drag": "dial-size", "data-i": i }, svg);
    if (d && d.position !== null && d.angle !== undefined) {
      const a = (d.angle * Math.PI) / 180, reach = 0.42 * Math.min(w, h);
      const cx = x + w / 2, cy = y + h / 2;
      el("line", { class: "needle", x1: cx, y1: cy, x2: cx + reach * Math.sin(a), y2: cy - reach * Math.cos(a) }, svg);
    }
    const t = el("text", { class: "label dial-label", x, y: Math.min(H - 2, y + h + 12), "data-i": i }, svg);
    t.textContent = d ? (d.position === null ? "?" : `${d.position.toFixed(1)} ${d.direction} ${Math.round(d.angle)}°`) : "…";
  });
}

function regionSize() {
  const img = $("region");
  return img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null;
}

function renderRegion() {
  const svg = $("region-svg");
  svg.replaceChildren();
  const size = regionSize();
  if (!size) return;
  svg.setAttribute("viewBox", `0 0 ${size[0]} ${size[1]}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const r = Math.max(size[0], size[1]) / 90;
  locate.boxes.forEach((b, i) => {
    const [x, y, w, h] = b;
    el("rect", { class: "box" + (i === selected ? " selected" : ""), x, y, width: w, height: h,
      "data-drag": "box-move", "data-i": i }, svg);
    el("rect", { class: "handle", x: x + w - r, y: y + h - r, width: 2 * r, height: 2 * r,
      "data-drag": "box-size", "data-i": i }, svg);
  });
  if (drag && drag.kind === "draw" && drag.svg === svg) drawGhost(svg);
  if (drag && drag.kind === "draw" && drag.svg === $("frame-svg")) drawGhost($("frame-svg"));
}

function drawGhost(svg) {
  const [x, y, w, h] = normRect(drag.start, drag.now);
  el("rect", { class: "drawing", x, y, width: w, height: h }, svg);
}

function normRect(a, b) {
  const x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
  return [Math.round(x), Math.round(y), Math.round(Math.abs(b.x - a.x)), Math.round(Math.abs(b.y - a.y))];
}

// -- dragging --------------------------------------------------------------------------

function pointerDown(event) {
  const svg = event.currentTarget;
  const p = svgPoint(svg, event);
  const target = event.target;
  const kind = target.dataset ? target.dataset.drag : undefined;
  if (tool && (tool === "roi" || tool === "dial") === (svg.id === "frame-svg")) {
    drag = { kind: "draw", svg, start: p, now: p, tool };
  } else if (kind) {
    const i = Number(target.dataset.i);
    if (kind.startsWith("box")) selected = i;
    if (kind.startsWith("dial")) selectedDial = i;
    drag = { kind, svg, start: p, i, roi: locate.roi && [...locate.roi],
      box: kind.startsWith("box") ? [...locate.boxes[i]] : kind.startsWith("dial") ? [...locate.dials[i]] : null,
      corner: kind === "corner" ? [...locate.warp[i]] : null };
  } else {
    selected = -1;
    selectedDial = -1;
    render();
    return;
  }
  svg.setPointerCapture(event.pointerId);
  event.preventDefault();
  render();
}

function pointerMove(event) {
  if (!drag) return;
  const p = svgPoint(drag.svg, event);
  const dx = Math.round(p.x - drag.start.x), dy = Math.round(p.y - drag.start.y);
  drag.moved = drag.moved || Math.abs(dx) + Math.abs(dy) > 0;
  if (drag.kind === "draw") drag.now = p;
  else if (drag.kind === "roi-move") locate.roi = [drag.roi[0] + dx, drag.roi[1] + dy, drag.roi[2], drag.roi[3]];
  else if (drag.kind === "roi-size") locate.roi = [drag.roi[0], drag.roi[1], Math.max(8, drag.roi[2] + dx), Math.max(8, drag.roi[3] + dy)];
  else if (drag.kind === "box-move") locate.boxes[drag.i] = [drag.box[0] + dx, drag.box[1] + dy, drag.box[2], drag.box[3]];
  else if (drag.kind === "box-size") locate.boxes[drag.i] = [drag.box[0], drag.box[1], Math.max(4, drag.box[2] + dx), Math.max(4, drag.box[3] + dy)];
  else if (drag.kind === "corner") locate.warp[drag.i] = [drag.corner[0] + dx, drag.corner[1] + dy];
  else if (drag.kind === "dial-move") locate.dials[drag.i] = [drag.box[0] + dx, drag.box[1] + dy, drag.box[2], drag.box[3]];
  else if (drag.kind === "dial-size") {
    // A dial stays square: a circle in a square.
    const side = Math.max(8, Math.max(drag.box[2] + dx, drag.box[3] + dy));
    locate.dials[drag.i] = [drag.box[0], drag.box[1], side, side];
  }
  render();
}

function pointerUp(event) {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (d.kind === "draw") {
    const [x, y, w, h] = normRect(d.start, d.now);
    tool = null;
    if (w < 4 || h < 4) { render(); return; }
    if (d.tool === "roi") {
      apply({ roi: [x, y, w, h], warp: null });
    } else if (d.tool === "dial") {
      // Listed most significant first: left to right, as water meters print them.
      const side = Math.max(w, h);
      const dials = [...(locate.dials || []), [x, y, side, side]].sort((a, b) => a[0] - b[0]);
      apply({ mode: "boxes", dials });
    } else {
      const n = d.tool === "row" ? Math.max(1, Number($("row-n").value) || 1) : 1;
      const boxes = [...locate.boxes];
      for (let k = 0; k < n; k++) {
        const bx = Math.round(x + (k * w) / n), bw = Math.round(x + ((k + 1) * w) / n) - bx;
        boxes.push([bx, y, bw, h]);
      }
      boxes.sort((a, b) => a[0] - b[0]);
      apply({ mode: "boxes", boxes });
    }
    return;
  }
  if (!d.moved) { render(); return; }
  if (d.kind.startsWith("roi")) apply({ roi: locate.roi });
  else if (d.kind.startsWith("box")) apply({ boxes: locate.boxes });
  else if (d.kind === "corner") apply({ warp: locate.warp });
  else if (d.kind.startsWith("dial")) apply({ dials: locate.dials });
}

// -- controls --------------------------------------------------------------------------

function setup() {
  for (const id of ["frame-svg", "region-svg"]) {
    const svg = $(id);
    svg.addEventListener("pointerdown", pointerDown);
    svg.addEventListener("pointermove", pointerMove);
    svg.addEventListener("pointerup", pointerUp);
    svg.addEventListener("pointercancel", () => { drag = null; render(); });
  }
  for (const b of document.querySelectorAll("button[data-tool]")) {
    b.addEventListener("click", () => { tool = tool === b.dataset.tool ? null : b.dataset.tool; render(); });
  }
  $("mode").addEventListener("change", (e) => apply({ mode: e.target.value }));
  $("polarity").addEventListener("change", (e) => apply({ polarity: e.target.value }));
  $("decimals").addEventListener("change", (e) => apply({ decimals: Number(e.target.value) }));
  $("delete-box").addEventListener("click", () => {
    if (selected < 0 || !locate) return;
    const boxes = locate.boxes.filter((_, i) => i !== selected);
    selected = -1;
    apply(boxes.length ? { boxes } : { boxes, mode: "auto" });
  });
  $("delete-dial").addEventListener("click", () => {
    if (selectedDial < 0 || !locate) return;
    const dials = locate.dials.filter((_, i) => i !== selectedDial);
    const directions = (locate.dial_directions || []).length > 1 ?
      locate.dial_directions.filter((_, i) => i !== selectedDial) : locate.dial_directions;
    selectedDial = -1;
    apply({ dials, dial_directions: directions });
  });
  $("clear-roi").addEventListener("click", () => apply({ roi: null, warp: null }));
  $("warp").addEventListener("click", () => {
    if (!locate || !state.frame) return;
    if (locate.warp) { apply({ warp: null }); return; }
    const [x, y, w, h] = locate.roi || [state.frame.width * 0.1, state.frame.height * 0.1,
      state.frame.width * 0.8, state.frame.height * 0.8];
    apply({ warp: [[x, y], [x + w, y], [x + w, y + h], [x, y + h]] });
  });
  $("save").addEventListener("click", () => locate && apply({}, true));
  poll();
  loadCollected();
}

// -- labelling -------------------------------------------------------------------------

async function loadCollected() {
  try {
    const response = await fetch("/api/collected");
    if (response.ok) showCollected((await response.json()).crops);
  } finally {
    setTimeout(loadCollected, 5000);
  }
}

function showCollected(crops) {
  const box = $("collected");
  const typing = box.contains(document.activeElement);
  if (typing) return;  // do not pull the field from under the user's fingers
  box.replaceChildren();
  if (!state || !state.collecting) {
    box.textContent = "Not collecting: set [daemon] collect_dir (boxes mode) to gather doubtful crops.";
    return;
  }
  if (!crops.length) { box.textContent = "Nothing collected yet."; return; }
  for (const crop of crops) {
    const card = document.createElement("div");
    card.className = "crop";
    card.dataset.name = crop.name;
    const img = document.createElement("img");
    img.src = "/collected/" + encodeURIComponent(crop.name);
    img.alt = crop.name;
    const guess = document.createElement("div");
    guess.textContent = "guess: " + (crop.guess ?? "?");
    const input = document.createElement("input");
    input.value = crop.guess && crop.guess !== "not_a_digit" ? crop.guess : "";
    input.placeholder = "3 or 3.5";
    const file = document.createElement("button");
    file.type = "button";
    file.className = "file";
    file.textContent = "File";
    file.addEventListener("click", () => label(card, input.value));
    const none = document.createElement("button");
    none.type = "button";
    none.className = "not-a-digit";
    none.textContent = "Not a digit";
    none.addEventListener("click", () => label(card, "not_a_digit"));
    card.append(img, guess, input, file, none);
    box.appendChild(card);
  }
}

async function label(card, value) {
  try {
    const result = await post("/api/label", { name: card.dataset.name, label: value });
    card.remove();
    say(`filed as ${result.path}`);
  } catch (err) {
    say(err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", setup);
