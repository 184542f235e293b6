// Sales dashboard of the analytics component: reads the admin token, loads the report JSON and draws two SVG
// charts. No framework and no inline script (the page's CSP allows only 'self' scripts). Text from the API is
// only ever set with textContent, never parsed as HTML.
//
// Flow: token from `#token=` (then removed from the address bar) or sessionStorage, else the login form →
// GET /analytics/sales and /analytics/top-products in parallel → product names from /products/<id> →
// draw → body[data-state] = "ready". Failures set data-state "error" (or "login" on 401/403).
"use strict";

const TOKEN_KEY = "pycommerce.analytics.token";
const SVG_NS = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;

const $ = (id) => document.getElementById(id);
const controls = $("controls");
const names = new Map(); // product id → display name, kept across reloads
let token = null;
let generation = 0; // a newer load() makes an older one's results stale

/** Signals that the token is missing, expired or not an admin's. */
class AccessError extends Error {}

// ---- token ---------------------------------------------------------------------------------------------

function takeToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    // Keep the token out of the history and of anything that copies the address.
    history.replaceState(history.state, "", location.pathname + location.search);
    storeToken(fromFragment);
    return fromFragment;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the token lives in memory only
  }
}

function storeToken(value) {
  token = value;
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* memory only */
  }
}

// ---- HTTP ----------------------------------------------------------------------------------------------

/** An Error from an RFC 9457 problem response (title and detail), or from the status alone. */
async function problem(response) {
  let title = `HTTP ${response.status}`;
  let detail = "";
  try {
    const body = await response.json();
    if (body && typeof body.title === "string") title = body.title;
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    /* not JSON */
  }
  return new Error(detail ? `${title}: ${detail}` : title);
}

async function api(path, params) {
  const response = await fetch(`${path}?${new URLSearchParams(params)}`, {
    headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
  });
  if (response.status === 401 || response.status === 403) throw new AccessError();
  if (!response.ok) throw await problem(response);
  return response.json();
}

/** A product's name; its id when the product is gone (404) or cannot be fetched. */
async function productName(id) {
  if (names.has(id)) return names.get(id);
  let name = id;
  try {
    const response = await fetch(`/products/${encodeURIComponent(id)}`, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const body = await response.json();
      if (body && typeof body.name === "string" && body.name) name = body.name;
    }
  } catch {
    /* show the id */
  }
  names.set(id, name);
  return name;
}

// ---- formatting ----------------------------------------------------------------------------------------

function moneyFormat(currency, compact) {
  try {
    const full = new Intl.NumberFormat(undefined, { style: "currency", currency });
    const digits = full.resolvedOptions().maximumFractionDigits; // minor units: 2 for EUR, 0 for JPY
    const shown = compact
      ? new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact" })
      : full;
    return (cents) => shown.format(cents / 10 ** digits);
  } catch {
    return (cents) => `${(cents / 100).toFixed(2)} ${currency}`; // unknown code: assume 2 decimals
  }
}

const count = new Intl.NumberFormat();

function isoDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

// ---- UI state ------------------------------------------------------------------------------------------

function setState(state, message, isError = state === "error") {
  document.body.dataset.state = state;
  const box = $("message");
  box.textContent = message || "";
  box.className = isError ? "error" : "";
  box.setAttribute("role", isError ? "alert" : "status");
}

function showLogin(message, isError = false) {
  generation++; // drop any load in flight
  storeToken(null);
  $("dashboard").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  setState("login", message, isError);
  $("login-form").elements.email.focus();
}

function showDashboard() {
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("logout").hidden = false;
}

// ---- drawing -------------------------------------------------------------------------------------------

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, attrs, content) {
  svg("text", attrs, parent).textContent = content;
}

function title(parent, content) {
  svg("title", {}, parent).textContent = content;
}

/** A "nice" axis step (1, 2 or 5 × 10^n) giving about `ticks` intervals up to `max`. */
function niceStep(max, ticks) {
  const raw = Math.max(max, 1) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw);
}

function drawSales(report) {
  const chart = $("sales-chart");
  chart.replaceChildren();
  const [width, height] = [1100, 320];
  const m = { top: 12, right: 12, bottom: 44, left: 76 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const money = moneyFormat(report.currency, false);
  const axisMoney = moneyFormat(report.currency, true);
  const buckets = report.buckets;

  const max = Math.max(0, ...buckets.map((b) => b.revenue_cents));
  const step = niceStep(max, 4);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (cents) => m.top + plotH - (cents / top) * plotH;
  for (let v = 0; v <= top; v += step) {
    svg("line", { class: "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }, chart);
    text(chart, { x: m.left - 8, y: y(v) + 4, "text-anchor": "end" }, axisMoney(v));
  }
  svg("line", { class: "axis", x1: m.left, x2: width - m.right, y1: y(0), y2: y(0) }, chart);

  if (buckets.length === 0) {
    text(chart, { class: "empty", x: m.left + plotW / 2, y: m.top + plotH / 2, "text-anchor": "middle" }, "No data");
    return;
  }
  const band = plotW / buckets.length;
  const barW = Math.max(1, band * 0.72);
  const labelEvery = Math.ceil(buckets.length / Math.floor(plotW / 80)); // ~80 px per date label
  const label = (start) => (report.period === "month" ? start.slice(0, 7) : start);
  buckets.forEach((b, i) => {
    const x = m.left + i * band;
    const item = svg("g", { class: "item" }, chart);
    title(item, `${label(b.start)}: ${money(b.revenue_cents)} · ${count.format(b.orders)} orders · ${count.format(b.units)} units`);
    svg("rect", { class: "hit", x, y: m.top, width: band, height: plotH }, item);
    svg("rect", {
      class: "bar",
      x: x + (band - barW) / 2,
      y: y(b.revenue_cents),
      width: barW,
      height: y(0) - y(b.revenue_cents),
      "data-start": b.start,
      "data-revenue-cents": b.revenue_cents,
      "data-orders": b.orders,
      "data-units": b.units,
    }, item);
    if (i % labelEvery === 0) {
      text(chart, { x: x + band / 2, y: height - m.bottom + 18, "text-anchor": "middle" }, label(b.start));
    }
  });
}

function drawTopProducts(report, labels) {
  const chart = $("top-products-chart");
  chart.replaceChildren();
  const byRevenue = report.by === "revenue";
  const money = moneyFormat(report.currency, false);
  const measure = (p) => (byRevenue ? p.revenue_cents : p.units);
  const shown = (p) => (byRevenue ? money(p.revenue_cents) : `${count.format(p.units)} units`);
  const rowH = 30;
  const m = { top: 6, right: 120, left: 280 };
  const width = 1100;
  const height = m.top * 2 + Math.max(1, report.products.length) * rowH;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (report.products.length === 0) {
    text(chart, { class: "empty", x: width / 2, y: height / 2 + 5, "text-anchor": "middle" }, "No sales in this range");
    return;
  }
  const plotW = width - m.left - m.right;
  const max = Math.max(1, ...report.products.map(measure));
  report.products.forEach((p, i) => {
    const name = labels[i];
    const y = m.top + i * rowH;
    const barW = (measure(p) / max) * plotW;
    const item = svg("g", { class: "item" }, chart);
    title(item, `${name}: ${count.format(p.units)} units · ${money(p.revenue_cents)} · ${count.format(p.orders)} orders`);
    svg("rect", { class: "hit", x: 0, y, width, height: rowH }, item);
    text(item, { class: "name", x: m.left - 10, y: y + rowH / 2 + 4, "text-anchor": "end" },
      name.length > 40 ? `${name.slice(0, 39)}…` : name);
    svg("rect", {
      class: "bar",
      x: m.left,
      y: y + 4,
      width: barW,
      height: rowH - 8,
      "data-product-id": p.product_id,
      "data-units": p.units,
      "data-revenue-cents": p.revenue_cents,
    }, item);
    text(item, { x: m.left + barW + 8, y: y + rowH / 2 + 4 }, shown(p));
  });
}

/** A plain data table under a chart, for screen readers and copying. */
function table(containerId, headers, rows) {
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const h of headers) head.appendChild(document.createElement("th")).textContent = h;
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) tr.insertCell().textContent = cell;
  }
  $(containerId).replaceChildren(t);
}

function drawSummary(sales) {
  const money = moneyFormat(sales.currency, false);
  const sum = (key) => sales.buckets.reduce((total, b) => total + b[key], 0);
  const parts = [
    ["Orders", count.format(sum("orders"))],
    ["Units", count.format(sum("units"))],
    ["Revenue", money(sum("revenue_cents"))],
  ];
  const summary = $("summary");
  summary.replaceChildren();
  parts.forEach(([label, value], i) => {
    summary.append(i ? " · " : "", `${label}: `);
    summary.appendChild(document.createElement("strong")).textContent = value;
  });
  summary.append(` (${sales.from} to ${sales.to}, ${sales.time_zone})`);
}

// ---- loading -------------------------------------------------------------------------------------------

async function load() {
  const mine = ++generation;
  const form = controls.elements;
  const range = { from: form.from.value, to: form.to.value };
  if (!range.from || !range.to || range.from > range.to) {
    setState("error", "Choose a start date on or before the end date.");
    return;
  }
  setState("loading", "Loading…");
  try {
    const [sales, top] = await Promise.all([
      api("/analytics/sales", { period: form.period.value, ...range }),
      api("/analytics/top-products", { ...range, limit: 10, by: form.by.value }),
    ]);
    const labels = await Promise.all(top.products.map((p) => productName(p.product_id)));
    if (mine !== generation) return;
    const money = moneyFormat(sales.currency, false);
    $("period-name").textContent = sales.period;
    $("by-name").textContent = top.by;
    drawSummary(sales);
    drawSales(sales);
    drawTopProducts(top, labels);
    table("sales-table", ["Start", "Orders", "Units", "Revenue"],
      sales.buckets.map((b) => [b.start, count.format(b.orders), count.format(b.units), money(b.revenue_cents)]));
    table("top-table", ["Product", "Units", "Revenue", "Orders"],
      top.products.map((p, i) => [labels[i], count.format(p.units), money(p.revenue_cents), count.format(p.orders)]));
    setState("ready", `Updated ${new Date().toLocaleTimeString()}`);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof AccessError) showLogin("Not authorized: admin access needed. Sign in with an admin account.", true);
    else {
      // Drop the previous report: charts for another range under an error message would mislead.
      for (const id of ["summary", "sales-chart", "top-products-chart", "sales-table", "top-table"]) $(id).replaceChildren();
      setState("error", `Could not load the report: ${error.message}`);
    }
  }
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  button.disabled = true;
  setState("login", "Signing in…");
  try {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ email: form.elements.email.value, password: form.elements.password.value }),
    });
    if (!response.ok) throw await problem(response);
    const body = await response.json();
    if (!body.access_token) throw new Error("The sign-in response had no access token.");
    form.reset();
    storeToken(body.access_token);
    showDashboard();
    await load();
  } catch (error) {
    setState("login", `Sign-in failed: ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function init() {
  // Defaults: the last 30 days up to today (UTC), unless the query string names them.
  const query = new URLSearchParams(location.search);
  const today = Date.now();
  const form = controls.elements;
  form.to.value = query.get("to") || isoDate(today);
  form.from.value = query.get("from") || isoDate(Date.parse(form.to.value) - 29 * DAY_MS || today - 29 * DAY_MS);
  for (const key of ["period", "by"]) {
    const select = form[key];
    if ([...select.options].some((o) => o.value === query.get(key))) select.value = query.get(key);
  }

  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  form.by.addEventListener("change", load);
  form.period.addEventListener("change", load);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => showLogin("Signed out."));

  token = takeToken();
  if (token) {
    showDashboard();
    load();
  } else {
    showLogin("Sign in with an admin account to see the report.");
  }
}

init();
