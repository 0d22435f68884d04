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

// Enough of Leaflet for banded layers: bounds that intersect, a map with a view, a group with events.
function bandedLeaflet() {
  function bounds(sw, ne) {
    return {w: sw[1], s: sw[0], e: ne[1], n: ne[0],
      pad() { return this; },
      intersects(o) { return o.w <= this.e && o.e >= this.w && o.s <= this.n && o.n >= this.s; },
      extend() { return this; }, isValid() { return true; }};
  }
  function shape(f) {
    return {geometry: f.geometry, options: {}, styled: null, bindTooltip() {}, bindPopup(fn) { this.popup = fn; },
      setStyle(s) { this.styled = s; }, getBounds() { return bounds([0, 0], [0, 0]); }};
  }
  return {
    latLng: (lat, lng) => ({lat: lat, lng: lng}),
    latLngBounds: (sw, ne) => (ne ? bounds(sw, ne) : bounds([90, 180], [-90, -180])),
    divIcon: (o) => o,
    marker: (latlng, o) => ({latlng: latlng, icon: o.icon, bindTooltip() {}, bindPopup(fn) { this.popup = fn; },
      getLatLng() { return latlng; }}),
    canvas: () => ({}),
    GeoJSON: {geometryToLayer: (f) => shape(f)},
    featureGroup() {
      const handlers = {};
      return {layers: new Set(), _map: null, addLayer(l) { this.layers.add(l); }, removeLayer(l) { this.layers.delete(l); },
        on(ev, fn) { handlers[ev] = fn; return this; },
        addTo(m) { this._map = m; handlers.add(); return this; }};
    },
  };
}

function viewMap(zoom, view) {
  const handlers = {};
  return {zoom: zoom, view: view, fits: [],
    getZoom() { return this.zoom; }, getBounds() { return L.latLngBounds(this.view[0], this.view[1]); },
    on(ev, fn) { handlers[ev] = fn; }, off() {}, once() {}, fitBounds(b, o) { this.fits.push(o); },
    move(zoom, view) { this.zoom = zoom; this.view = view; handlers.moveend(); }};
}

function area(name, fid, box, coords) {
  return {type: "Feature", bbox: box, geometry: {type: "Polygon", coordinates: [coords]},
    properties: {domain: "环境", name: name, precision: "site", items: [item(fid, name + "整治", name)]}};
}

test("a banded layer builds lines and areas only in view, at its zoom's band, and loads a band file on demand", () => {
  global.L = bandedLeaflet();
  const appended = [];
  global.document = {createElement: () => ({}), head: {appendChild(t) { appended.push(t); }},
    getElementById: (id) => ({textContent: JSON.stringify([{type: "Polygon", coordinates: [["mid-" + id]]}, null, null])})};
  const g = create();
  const near = area("近湖", "it-n-1", [112.5, 37.8, 112.6, 37.9], ["coarse-near"]);
  const far = area("远湖", "it-f-1", [113.5, 38.5, 113.6, 38.6], ["coarse-far"]);
  const data = {type: "FeatureCollection", features: [near, far, place("站", [item("it-p-1", "站", "站")])]};
  const o = Object.assign({}, OPTS, {zooms: [11, 14]});
  const group = g.layer(data, o, ["blk1", {id: "x_band2", src: "map.data/x_band2.js"}]);
  assert.equal(group.layers.size, 1, "only the point is made before the layer is on a map");
  const m = viewMap(10, [[37.7, 112.4], [38.0, 112.7]]);
  group.addTo(m);
  const shapeLayers = () => [...group.layers].filter((l) => l.geometry);
  assert.deepEqual(shapeLayers().map((l) => l.geometry.coordinates[0][0]), ["coarse-near"], "band 0, in view only");
  m.move(12, m.view);
  assert.deepEqual(shapeLayers().map((l) => l.geometry.coordinates[0][0]), ["mid-blk1"], "band 1 from the JSON block");
  assert.equal(appended.length, 0, "no file before its zoom");
  m.move(14, m.view);
  assert.equal(appended.length, 1);
  assert.equal(appended[0].src, "map.data/x_band2.js");
  assert.deepEqual(shapeLayers().map((l) => l.geometry.coordinates[0][0]), ["mid-blk1"], "the band before, until the file comes");
  g.band("x_band2", [{type: "Polygon", coordinates: [["full-near"]]}, {type: "Polygon", coordinates: [["full-far"]]}, null]);
  assert.deepEqual(shapeLayers().map((l) => l.geometry.coordinates[0][0]), ["full-near"]);
  // Filtered out, a shape leaves; panned to, the far one is built (culling shows every feature when there).
  g.view(m, {fids: ["it-p-1", "it-f-1"], selected: null, key: "k"});
  assert.equal(shapeLayers().length, 0);
  assert.deepEqual(g.counts(), {shapes: 2, items: 2});
  m.move(14, [[38.45, 113.45], [38.65, 113.65]]);
  assert.deepEqual(shapeLayers().map((l) => l.geometry.coordinates[0][0]), ["full-far"]);
  assert.equal(g.byFid["it-f-1"].layer.styled.weight, 2, "styled as it is built");
  delete global.L;
  delete global.document;
});

test("a banded layer's popup and find data come after the first draw: fids at once, text from the file", () => {
  global.L = bandedLeaflet();
  const appended = [];
  global.document = {createElement: () => ({}), head: {appendChild(t) { appended.push(t); }}};
  const g = create();
  const slim = (f) => Object.assign({}, f, {properties: {name: f.properties.name, precision: "site",
    items: f.properties.items.map((it) => ({fid: it.fid}))}});
  const near = area("近湖", "it-n-1", [112.5, 37.8, 112.6, 37.9], ["coarse-near"]);
  const stop = place("站", [item("it-p-1", "新建地铁站<b>", "站"), item("it-p-2", "改造站前广场", "站")]);
  const full = [near.properties, stop.properties];
  const data = {type: "FeatureCollection", features: [slim(near), slim(stop)]};
  const o = Object.assign({}, OPTS, {zooms: [11, 14]});
  const group = g.layer(data, o, [[null, null], [null, null]], {id: "x_props", src: "map.data/x_props.js"});
  const m = viewMap(10, [[37.7, 112.4], [38.0, 112.7]]);
  group.addTo(m);
  assert.equal(appended.length, 0, "not loaded before it is needed (node has no load event)");
  // The view and its counts work on the fids alone; a popup says it is loading and fetches the file once.
  assert.equal(g.view(m, {fids: ["it-p-1", "it-n-1"], selected: null, key: "k"}), 2);
  assert.deepEqual(g.counts(), {shapes: 2, items: 2});
  const e = g.byFid["it-p-1"];
  let html = g.popup(e);
  assert.match(html, /<b>站<\/b><p class="gp-loading">loading…<\/p>/);
  g.popup(g.byFid["it-n-1"]);
  assert.equal(appended.length, 1);
  assert.equal(appended[0].src, "map.data/x_props.js");
  let updates = 0;
  e.layer.isPopupOpen = () => true;
  e.layer.getPopup = () => ({update() { updates += 1; }});
  g.band("x_props", full);
  assert.equal(updates, 1, "the open popup fills in");
  html = g.popup(e);
  assert.ok(html.includes("新建地铁<mark>站</mark>&lt;b&gt;"), html);
  assert.ok(!html.includes("改造站前广场"), "the view's filter still holds");
  assert.deepEqual(g.counts(), {shapes: 2, items: 2});
  g.view(m, {fids: null, selected: null, key: "all"});
  assert.deepEqual(g.counts(), {shapes: 2, items: 3});
  delete global.L;
  delete global.document;
});

test("deferred properties in a JSON block load after the page's load event, parsed once", () => {
  global.L = bandedLeaflet();
  const loads = [];
  let parsed = 0;
  const near = area("近湖", "it-n-1", [112.5, 37.8, 112.6, 37.9], ["coarse-near"]);
  const far = area("远湖", "it-f-1", [113.5, 38.5, 113.6, 38.6], ["coarse-far"]);
  global.document = {readyState: "loading",
    getElementById(id) { parsed += 1; assert.equal(id, "x_props"); return {textContent: JSON.stringify([near.properties, far.properties])}; }};
  global.window = {addEventListener(ev, fn) { assert.equal(ev, "load"); loads.push(fn); },
    requestAnimationFrame: (fn) => fn()};
  const g = create();
  const slim = (f) => Object.assign({}, f, {properties: {name: f.properties.name, items: [{fid: f.properties.items[0].fid}]}});
  const group = g.layer({type: "FeatureCollection", features: [slim(near), slim(far)]}, Object.assign({}, OPTS, {zooms: [11]}),
    [[null, null]], "x_props");
  group.addTo(viewMap(10, [[37.7, 112.4], [38.0, 112.7]]));
  assert.equal(parsed, 0, "nothing parsed before the load event");
  assert.equal(loads.length, 1);
  return new Promise((resolve) => {
    loads[0]();
    setTimeout(() => {
      assert.equal(parsed, 1);
      assert.equal(g.byFid["it-f-1"].items[0].text, "远湖整治");
      assert.equal(g.byFid["it-f-1"].pending, null);
      delete global.L;
      delete global.document;
      delete global.window;
      resolve();
    }, 5);
  });
});

test("the size rule: a bbox's larger side in Web Mercator pixels at the zoom, as Leaflet projects it", () => {
  const g = create();
  // Leaflet's EPSG:3857 at zoom z: x = 256 * 2**z * (lng + 180) / 360, y from ln(tan(pi/4 + lat/2)).
  const y = (lat) => 256 / (2 * Math.PI) * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
  const wide = [112.5, 37.8, 112.51, 37.801], tall = [112.5, 37.8, 112.5, 37.81];
  assert.ok(Math.abs(g.span(wide) - 256 * 0.01 / 360) < 1e-9);
  assert.ok(Math.abs(g.span(tall) - (y(37.81) - y(37.8))) < 1e-9);
  assert.ok(g.span(tall) > g.span(wide), "a degree of latitude is longer than one of longitude there");
  // 0.01 degree of longitude: 3.6 px at zoom 9, 14.6 px at zoom 11.
  assert.equal(g.tiny(g.span(wide), 9, 12), true);
  assert.equal(g.tiny(g.span(wide), 11, 12), false);
  assert.equal(g.tiny(g.span(wide), 9, 0), false, "no dot_px: always the shape");
  assert.equal(g.tiny(g.span(wide), 9, undefined), false);
  assert.equal(g.tiny(0, 18, 12), true, "a shape of no extent is a dot at any zoom");
});

test("a banded line or area under dot_px is a marker in its group; zoomed in, its shape; one popup for both", () => {
  global.L = bandedLeaflet();
  global.document = {createElement: () => ({}), head: {appendChild() {}}};
  const g = create();
  const small = area("小湖", "it-s-1", [112.5, 37.8, 112.51, 37.81], ["coarse-small"]);
  const big = area("大湖", "it-b-1", [112.3, 37.6, 112.8, 38.0], ["coarse-big"]);
  const data = {type: "FeatureCollection", features: [small, big]};
  const group = g.layer(data, Object.assign({}, OPTS, {zooms: [11, 14], dot_px: 12}), [[null, null], [null, null]]);
  const m = viewMap(9, [[37.5, 112.2], [38.1, 112.9]]);
  group.addTo(m);
  const e = g.byFid["it-s-1"], dot = e.layer;
  const kinds = () => [...group.layers].map((l) => (l.geometry ? "shape:" + l.geometry.coordinates[0][0] : "marker")).sort();
  assert.deepEqual(kinds(), ["marker", "shape:coarse-big"], "3.6 px at zoom 9: a marker; 180 px: its shape");
  assert.deepEqual(dot.latlng, {lat: 37.805, lng: 112.505}, "at its bbox's centre");
  assert.equal(dot.feature.properties.items[0].fid, "it-s-1", "share links read the fid from the layer's feature");
  assert.equal(dot.styled, undefined, "a marker is not styled as a path");
  assert.match(dot.popup(), /<b>小湖<\/b>/);
  m.move(11, [[37.79, 112.49], [37.82, 112.52]]);  // 14.6 px
  assert.deepEqual(kinds(), ["shape:coarse-big", "shape:coarse-small"]);
  assert.ok(e.layer.geometry && e.layer !== dot);
  assert.match(e.layer.popup(), /<b>小湖<\/b>/);
  assert.equal(e.layer.styled.weight, 2);
  m.move(9, [[37.5, 112.2], [38.1, 112.9]]);
  assert.equal(e.layer, dot, "zoomed out again: the same marker, not a new one");
  assert.deepEqual(kinds(), ["marker", "shape:coarse-big"]);
  // Filtered out: neither; selected while a marker: the map goes to it (there it is drawn as its shape).
  g.view(m, {fids: ["it-b-1"], selected: null, key: "k"});
  assert.deepEqual(kinds(), ["shape:coarse-big"]);
  assert.deepEqual(g.counts(), {shapes: 1, items: 1});
  const fits = m.fits.length;
  g.view(m, {fids: null, selected: "it-s-1", key: "k"});
  assert.equal(e.layer, dot);
  return new Promise((resolve) => {
    setTimeout(() => {
      assert.equal(m.fits.length, fits + 1, "fitted to the dot's place");
      delete global.L;
      delete global.document;
      resolve();
    }, 80);
  });
});

test("a shape with no first-band geometry is a marker until a band with its geometry is there", () => {
  global.L = bandedLeaflet();
  const appended = [];
  global.document = {createElement: () => ({}), head: {appendChild(t) { appended.push(t); }}};
  const g = create();
  // map_data leaves out the first band's geometry of what that band draws as markers (under dot_px at zoom 10).
  const small = Object.assign(area("小湖", "it-s-1", [112.5, 37.8, 112.51, 37.81], []), {geometry: null});
  const data = {type: "FeatureCollection", features: [small]};
  const group = g.layer(data, Object.assign({}, OPTS, {zooms: [11, 14], dot_px: 24}),
    [{id: "x_band1", src: "map.data/x_band1.js"}, [null]]);
  const m = viewMap(9, [[37.5, 112.2], [38.1, 112.9]]);
  group.addTo(m);
  const e = g.byFid["it-s-1"];
  assert.equal(e.layer, e.dot);
  m.move(12, [[37.79, 112.49], [37.82, 112.52]]);  // 58 px: its shape, once band 1 has come
  assert.equal(appended.length, 1);
  assert.equal(e.layer, e.dot, "its marker while the band file loads");
  g.band("x_band1", [{type: "Polygon", coordinates: [["mid-small"]]}]);
  assert.equal(e.layer.geometry.coordinates[0][0], "mid-small");
  assert.equal(group.layers.has(e.dot), false);
  m.move(14, m.view);  // band 2 is null for it: as band 1
  assert.equal(e.layer.geometry.coordinates[0][0], "mid-small");
  delete global.L;
  delete global.document;
});

test("a path's own remove, bubbling up to its banded layer, does not stop the layer following the map", () => {
  global.L = bandedLeaflet();
  global.document = {createElement: () => ({}), head: {appendChild() {}},
    getElementById: (id) => ({textContent: JSON.stringify([{type: "Polygon", coordinates: [["mid-" + id]]}, null])})};
  const heard = {};
  const plain = L.featureGroup;
  L.featureGroup = () => {
    const g = plain();
    const on = g.on;
    g.on = function (ev, fn) { ev.split(" ").forEach((e) => { (heard[e] = heard[e] || []).push(fn); }); return on.call(this, ev, fn); };
    return g;
  };
  try {
    const g = create();
    const near = area("近湖", "it-n-1", [112.5, 37.8, 112.6, 37.9], ["coarse-near"]);
    const far = area("远湖", "it-f-1", [113.5, 38.5, 113.6, 38.6], ["coarse-far"]);
    const group = g.layer({type: "FeatureCollection", features: [near, far]}, Object.assign({}, OPTS, {zooms: [11]}), ["blk1"]);
    const m = viewMap(10, [[37.7, 112.4], [38.0, 112.7]]);
    group.addTo(m);
    const path = [...group.layers][0];
    // Leaflet hands a child's "remove" (sync dropping a path, a cluster taking a marker) to its parent group too.
    (heard.remove || []).forEach((fn) => fn({type: "remove", target: group, sourceTarget: path}));
    m.move(12, m.view);
    assert.deepEqual([...group.layers].filter((l) => l.geometry).map((l) => l.geometry.coordinates[0][0]), ["mid-blk1"]);
  } finally {
    L.featureGroup = plain;
    delete global.L;
    delete global.document;
  }
});

test("a banded layer fetched by URL (the app's) is filled after it is on the map and builds its shapes in view", async () => {
  global.L = bandedLeaflet();
  let answer;
  global.fetch = () => new Promise((resolve) => { answer = resolve; });
  try {
    const g = create();
    const o = Object.assign({}, OPTS, {zooms: [11, 14]});
    const group = g.layer({url: "layers.json", i: 0}, o);
    const m = viewMap(12, [[37.7, 112.4], [38.0, 112.7]]);
    group._map = m;  // the page added the layer at once (no "add" handler yet): its data comes later
    const near = area("近湖", "it-n-1", [112.5, 37.8, 112.6, 37.9], ["coarse-near"]);
    const far = area("远湖", "it-f-1", [113.5, 38.5, 113.6, 38.6], ["coarse-far"]);
    const doc = {layers: [{type: "FeatureCollection", features: [near, far]}],
                 bands: [[[{type: "Polygon", coordinates: [["mid-near"]]}, null], [null, null]]], props: [null]};
    answer({ok: true, json: () => Promise.resolve(doc)});
    await new Promise((r) => setTimeout(r, 10));
    const shapes = [...group.layers].filter((l) => l.geometry).map((l) => l.geometry.coordinates[0][0]);
    assert.deepEqual(shapes, ["mid-near"], "zoom 12's band, in view only");
    assert.deepEqual(g.counts(), {shapes: 2, items: 2});
  } finally {
    delete global.L;
    delete global.fetch;
  }
});
