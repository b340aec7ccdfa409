// The review page. Every value from the server is model output: it goes into the page with
// textContent only (never innerHTML), so markup in a row is shown as text and never runs.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { reviewer: "", total: 0, i: 0, item: null };
let queue = Promise.resolve(); // keys are handled one after another, none dropped while a save is in flight

function setStatus(text, isError) {
  const el = $("status");
  el.textContent = text;
  if (isError) el.dataset.error = "1"; else delete el.dataset.error;
}

async function getJSON(path) {
  const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(`${r.status}: ${body.error || r.statusText}`);
  return body;
}

async function postJSON(path, payload) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(`${r.status}: ${body.error || r.statusText}`);
  return body;
}

function q(params) {
  return Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}

function renderProgress(done) {
  $("progress").textContent = `${done} of ${state.total} reviewed by ${state.reviewer}`;
  document.body.dataset.done = String(done);
}

async function show(i) {
  const item = await getJSON(`/api/item?${q({ i, reviewer: state.reviewer })}`);
  state.i = i;
  state.item = item;
  $("pos").textContent = String(i + 1);
  $("item-id").textContent = item.id;
  $("stratum").textContent = item.stratum;
  $("machine").textContent = item.machine;
  $("verdict").textContent = item.verdict || "none";
  $("verdict").dataset.v = item.verdict || "";
  $("note-shown").textContent = item.note ? `note: ${item.note}` : "";
  const box = $("fields");
  box.replaceChildren();
  for (const f of item.fields) {
    const h = document.createElement("h3");
    h.textContent = String(f.label);
    const pre = document.createElement("pre");
    pre.textContent = String(f.text);
    box.append(h, pre);
  }
  document.body.dataset.index = String(i);
  document.body.dataset.itemId = item.id;
}

async function load() {
  const name = $("reviewer").value.trim() || state.reviewer;
  const st = await getJSON(`/api/state?${q({ reviewer: name })}`);
  state.reviewer = st.reviewer;
  state.total = st.total;
  $("reviewer").value = st.reviewer;
  $("data").textContent = st.data;
  $("total").textContent = String(st.total);
  $("agree-means").textContent = `Agree means - ${st.agree_means}`;
  renderProgress(st.done);
  await show(Math.min(st.next, st.total - 1));
  setStatus(st.next >= st.total ? `all ${st.total} items reviewed` : "", false);
  document.body.dataset.ready = "1";
}

async function verdict(v) {
  const res = await postJSON("/api/verdict", { reviewer: state.reviewer, item_id: state.item.id, verdict: v });
  renderProgress(res.done);
  if (state.i + 1 < state.total) {
    await show(state.i + 1);
    setStatus(`saved: ${v}`, false);
  } else {
    await show(state.i);
    setStatus(`saved: ${v}; that was the last item (${res.done} of ${state.total} reviewed)`, false);
  }
}

async function saveNote() {
  const text = $("note").value;
  await postJSON("/api/note", { reviewer: state.reviewer, item_id: state.item.id, note: text });
  $("note").blur(); // give the keys back to the page at once (a hidden field can keep focus a moment)
  $("note-box").hidden = true;
  $("note-shown").textContent = text ? `note: ${text}` : "";
  setStatus(`note saved on ${state.item.id}`, false);
}

function run(task) {
  queue = queue.then(task).catch((err) => setStatus(String(err.message || err), true));
}

document.addEventListener("keydown", (ev) => {
  const tag = ev.target && ev.target.tagName;
  if (ev.target === $("note")) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); run(saveNote); }
    else if (ev.key === "Escape") { $("note").blur(); $("note-box").hidden = true; }
    return;
  }
  if (tag === "INPUT" || tag === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const keys = { a: "agree", d: "disagree", u: "unsure" };
  if (keys[ev.key]) { ev.preventDefault(); const v = keys[ev.key]; run(() => verdict(v)); }
  else if (ev.key === "n") {
    ev.preventDefault();
    run(async () => {
      $("note").value = (state.item && state.item.note) || "";
      $("note-box").hidden = false;
      $("note").focus();
    });
  } else if (ev.key === "ArrowRight") { ev.preventDefault(); run(() => (state.i + 1 < state.total ? show(state.i + 1) : null)); }
  else if (ev.key === "ArrowLeft") { ev.preventDefault(); run(() => (state.i > 0 ? show(state.i - 1) : null)); }
});

document.addEventListener("DOMContentLoaded", () => {
  $("reviewer").addEventListener("change", () => run(load));
  run(load);
});
