// The map script (src/geoplan/static/geoplan.js) in node's own test runner: `node --test tests/js/`.
// Leaflet is replaced by a few fakes that record what the script asks of it; each test makes its own map
// state with create(), so tests do not share entries, selection or query.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const {create, esc} = require(path.join(__dirname, "..", "..", "src", "geoplan", "static", "geoplan.js"));

const LABELS = {precision: "定位精度", district: "区县", source: "位置来源", confidence: "可信度",
  planned: "规划/在建", quantities: "数量", high: "高", n_items: "{n} 项事项", more: "另有 {n} 项，见事项表",
  search: "在地图上查找", found: "{n} 项"};
const OPTS = {labels: LABELS, lang: "zh", status_en: {}, glyphs: {station: "站"}, color: "#d62728", cluster: false};

// Just enough of Leaflet for layer() and view(): layers know whether they are on their group.
function fakeLeaflet() {
  function layer(f) {
    return {f: f, on: false, styled: null, popups: 0, bindTooltip() {}, bindPopup(fn) { this.popup = fn; },
      setStyle(s) { this.styled = s; }, openPopup() { this.popups += 1; },
      getLatLng() { return {lat: f.geometry.coordinates[1], lng: f.geometry.coordinates[0]}; }};
  }
  function group() {
    return {layers: new Set(), addLayer(l) { this.layers.add(l); l.on = true; },
      removeLayer(l) { this.layers.delete(l); l.on = false; }};
  }
  function bounds() {
    return {n: 0, extend() { this.n += 1; return this; }, isValid() { return this.n > 0; }};
  }
  return {
    featureGroup: group, latLngBounds: bounds, divIcon: (o) => o,
    marker: (latlng, o) => ({latlng: latlng, icon: o.icon}),
    geoJson(data, o) {
      data.features.forEach((f) => {
        const l = layer(f);
        o.pointToLayer(f, null);
        o.onEachFeature(f, l);
      });
    },
  };
}

function place(name, items, extra) {
  return {type: "Feature", geometry: {type: "Point", coordinates: [112.58, 37.85]},
    properties: Object.assign({domain: "城乡融合发展", name: name, precision: "site", precision_zh: "精确地点",
      place_kind: "station", items: items}, extra || {})};
}

function item(fid, text, matched) {
  return {fid: fid, item_id: fid.split("-").slice(0, 2).join("-"), text: text, matched: matched, status_zh: "启动"};
}

function map() {
  return {fits: [], fitBounds(b, o) { this.fits.push(o); }};
}

test("esc escapes every character that could open markup or an attribute", () => {
  assert.equal(esc(`<img src=x onerror="a('b')">` + "`"), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&#96;");
  assert.equal(esc(null), "");
  assert.equal(esc(undefined), "");
  assert.equal(esc(0), "0");
});

test("popups escape report text and link only http(s) sources", () => {
  const g = create();
  const payload = "<script>alert(1)</script>";
  const p = {name: "东站房" + payload, domain: "民生" + payload, precision_zh: "精确地点", source: payload,
    source_url: "javascript:alert(1)", confidence: "high"};
  const e = {p: p, o: OPTS, items: [item("it-1-1", "启动太原火车站东站房建设" + payload, "火车站东站房")]};
  e.shown = e.items;
  const html = g.popup(e);
  assert.ok(!html.includes("<script>"), html);
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("<mark>火车站东站房</mark>"));
  assert.ok(!html.includes("<a "), "javascript: URLs get no link");
  e.p = Object.assign({}, p, {source_url: 'https://example.org/"><b>'});
  // Residents get a short link named by the site; planners the full citation with a ↗ link.
  assert.match(g.popup(e), /<a class="gp-src" href="https:\/\/example\.org\/&quot;&gt;&lt;b&gt;" title="&lt;script&gt;/);
  const planner = {p: e.p, o: Object.assign({}, OPTS, {planner: true}), items: e.items, shown: e.items};
  assert.match(g.popup(planner), /&lt;script&gt;alert\(1\)&lt;\/script&gt; <a href="https:\/\/example\.org\/&quot;&gt;&lt;b&gt;" target="_blank" rel="noopener noreferrer">/);
  assert.equal(g.tooltip(e), esc(p.name));
});

test("a popup lists at most 20 items and says how many more there are", () => {
  const g = create();
  const items = Array.from({length: 25}, (_, i) => item(`it-${i}-1`, `第${i}项`, null));
  const e = {p: {name: "晋祠泉", domain: "环境"}, o: OPTS, items: items, shown: items};
  const html = g.popup(e);
  assert.equal((html.match(/<li/g) || []).length, 20);
  assert.ok(html.includes("另有 5 项，见事项表") && html.includes("25 项事项"));
  assert.equal(g.tooltip(e), "晋祠泉 (25)");
});

test("view shows only the fids asked for, fits the map once per set, and marks the selected item", () => {
  global.L = fakeLeaflet();
  const g = create();
  const data = {type: "FeatureCollection", features: [
    place("太原火车站东站房", [item("it-a-1", "启动太原火车站东站房建设", "火车站东站房")]),
    place("晋祠泉", [item("it-b-1", "推进晋祠泉复流", "晋祠泉"), item("it-c-1", "保护晋祠泉水源地", "晋祠泉")],
      {precision: "near"}),
  ]};
  const group = g.layer(data, OPTS);
  assert.equal(group.layers.size, 2);
  const m = map();
  assert.equal(g.view(m, {fids: null, selected: null, key: "all"}), 2);
  assert.deepEqual(g.counts(), {shapes: 2, items: 3});
  assert.equal(g.view(m, {fids: ["it-c-1"], selected: null, key: "k1"}), 1);
  assert.deepEqual(g.counts(), {shapes: 1, items: 1});
  assert.equal(group.layers.size, 1);
  assert.equal(m.fits.length, 1, "a new set of fids fits the map to it");
  g.view(m, {fids: ["it-c-1"], selected: null, key: "k1"});
  assert.equal(m.fits.length, 1, "the same set does not move the map again");
  // The popup of a place lists only the items shown.
  const spring = g.byFid["it-c-1"];
  assert.equal((g.popup(spring).match(/<li/g) || []).length, 1);
  // Selecting an item lists it first, highlighted, and thickens its shape; the map does not move.
  g.view(m, {fids: null, selected: "it-c-1", key: "all"});
  assert.match(g.popup(spring), /^<div class="gp-popup"><b>晋祠泉<\/b> <span class="gp-n">2 项事项<\/span><ol class="gp-items"><li class="gp-sel"><p class="gp-text">保护/);
  assert.equal(spring.layer.styled.weight, 5);
  assert.equal(m.fits.length, 1);
  delete global.L;
});

test("each create() has its own state", () => {
  global.L = fakeLeaflet();
  const a = create(), b = create();
  a.layer({type: "FeatureCollection", features: [place("晋祠泉", [item("it-b-1", "推进晋祠泉复流", "晋祠泉")])]}, OPTS);
  assert.equal(a.entries.length, 1);
  assert.equal(b.entries.length, 0);
  assert.deepEqual(b.counts(), {shapes: 0, items: 0});
  delete global.L;
});
