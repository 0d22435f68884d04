// The app's two-way filter in geoplan.js (issue 13): the layer control's ticks and the find box filter the
// map at once and are posted to Streamlit; a view from the app sets them without posting back.
// Leaflet is faked: groups fire "add"/"remove" when a map adds or removes them, as Leaflet's do (and as the
// layer control does on a click), and the find box is a plain object whose "input" listener the test calls.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const {create} = require(path.join(__dirname, "..", "..", "src", "geoplan", "static", "geoplan.js"));

const LABELS = {search: "在地图上查找", found: "{n} 项", shown: "地图上 {n} 项 · {p} 处", n_items: "{n} 项事项",
  more: "另有 {n} 项"};

function fakeLeaflet() {
  function evented(o) {
    o.handlers = {};
    o.on = function (types, fn) { types.split(" ").forEach((t) => { (this.handlers[t] = this.handlers[t] || []).push(fn); }); return this; };
    o.off = function () { return this; };
    // Leaflet's fire: the event's sourceTarget is where it began (a marker's "remove" bubbles to its group).
    o.fire = function (t, source) {
      (this.handlers[t] || []).forEach((fn) => fn({type: t, target: this, sourceTarget: source || this}));
    };
    return o;
  }
  function group() {
    return evented({layers: new Set(), _map: null, addLayer(l) { this.layers.add(l); }, removeLayer(l) { this.layers.delete(l); }});
  }
  function el(tag, cls, parent) {
    const e = {tag: tag, className: cls, value: "", textContent: "", listeners: {}, setAttribute() {}};
    if (parent) { (parent.children = parent.children || []).push(e); }
    return e;
  }
  return {
    featureGroup: group,
    latLngBounds: () => ({n: 0, extend() { this.n += 1; return this; }, isValid() { return this.n > 0; }}),
    divIcon: (o) => o,
    marker: (latlng, o) => ({latlng: latlng, icon: o.icon}),
    geoJson(data, o) {
      data.features.forEach((f) => {
        const l = {f: f, bindTooltip() {}, bindPopup() {}, setStyle() {},
          getLatLng() { return {lat: f.geometry.coordinates[1], lng: f.geometry.coordinates[0]}; }};
        o.pointToLayer(f, null);
        o.onEachFeature(f, l);
      });
    },
    control: () => ({addTo(map) { this.div = this.onAdd(map); return this; }}),
    DomUtil: {create: el},
    DomEvent: {on(e, t, fn) { e.listeners[t] = fn; }, disableClickPropagation() {}, disableScrollPropagation() {}},
  };
}

// A map that adds and removes groups as Leaflet's does: the group fires "add"/"remove".
function fakeMap() {
  return {
    groups: new Set(), fits: [],
    hasLayer(g) { return this.groups.has(g); },
    addLayer(g) { this.groups.add(g); g._map = this; g.fire("add"); },
    removeLayer(g) { this.groups.delete(g); g._map = null; g.fire("remove"); },
    fitBounds(b, o) { this.fits.push(o); },
  };
}

function place(domain, name, fids) {
  return {type: "Feature", geometry: {type: "Point", coordinates: [112.58, 37.85]},
    properties: {domain: domain, name: name, precision: "site", district: "万柏林区",
      items: fids.map((fid) => ({fid: fid, item_id: fid.replace(/-\d+$/, ""), text: name + "建设"}))}};
}

// Three domain layers on a map, the search box, and a post recorder; the first view from the app (seq 0).
function setup(t) {
  t.mock.timers.enable({apis: ["setTimeout"]});
  global.L = fakeLeaflet();
  const g = create(), m = fakeMap(), posts = [];
  const groups = {};
  [["民生", [place("民生", "学校", ["it-a-1"]), place("民生", "医院", ["it-b-1", "it-b-2"])]],
   ["环境", [place("环境", "晋祠泉", ["it-c-1"])]],
   ["城乡融合发展", [place("城乡融合发展", "火车站", ["it-d-1"])]]].forEach(([domain, feats]) => {
    groups[domain] = g.layer({type: "FeatureCollection", features: feats}, {labels: LABELS, glyphs: {}, color: "#000",
      cluster: false, domain: domain});
    m.addLayer(groups[domain]);  // as the page's script adds each layer
  });
  const search = g.search(m, LABELS);
  g.connect((v) => posts.push(v));
  g.view(m, {fids: null, selected: null, key: "all", domains: [], q: "", seq: 0});
  t.mock.timers.tick(10);
  return {g, m, posts, groups, search};
}

test("unticking a layer updates the in-map counts at once and posts the domains once", (t) => {
  const {g, m, posts, groups} = setup(t);
  assert.deepEqual(posts, [], "the first view posts nothing");
  assert.deepEqual(g.counts(), {shapes: 4, items: 5});
  m.removeLayer(groups["民生"]);  // the layer control's untick
  assert.deepEqual(g.counts(), {shapes: 2, items: 2}, "at once, before any round trip");
  assert.equal(g.itemCount(), 2);
  assert.deepEqual(g.chosen(), ["环境", "城乡融合发展"]);
  assert.deepEqual(posts, [], "posted after the click's changes, not during");
  t.mock.timers.tick(1);
  assert.deepEqual(posts, [{domains: ["环境", "城乡融合发展"], q: "", seq: 1}]);
  // The app's view for that post: it matches what the map shows, so nothing moves and nothing is posted.
  g.view(m, {fids: null, selected: null, key: "all", domains: ["环境", "城乡融合发展"], q: "", seq: 1});
  t.mock.timers.tick(1000);
  assert.equal(posts.length, 1, "no echo");
  assert.equal(m.fits.length, 0, "the map stays where the user is looking");
  // Ticking it again: every layer on is the app's "all".
  m.addLayer(groups["民生"]);
  t.mock.timers.tick(1);
  assert.deepEqual(posts[1], {domains: null, q: "", seq: 2});
  delete global.L;
});

test("a marker's own add or remove, bubbling up to its domain's group, is no untick", (t) => {
  const {g, m, posts, groups} = setup(t);
  const marker = {};
  groups["民生"].fire("remove", marker);  // markercluster takes a marker into a cluster; a banded path leaves
  t.mock.timers.tick(10);
  assert.equal(g.chosen(), null);
  assert.deepEqual(g.counts(), {shapes: 4, items: 5});
  m.removeLayer(groups["民生"]);
  groups["民生"].fire("add", marker);
  t.mock.timers.tick(10);
  assert.deepEqual(g.chosen(), ["环境", "城乡融合发展"]);
  assert.deepEqual(posts, [{domains: ["环境", "城乡融合发展"], q: "", seq: 1}]);
  delete global.L;
});

test("a sidebar change re-ticks the control without posting back, and fits the map to it", (t) => {
  const {g, m, posts, groups} = setup(t);
  g.view(m, {fids: null, selected: null, key: "all", domains: ["民生"], q: "", seq: 0});
  assert.ok(m.hasLayer(groups["民生"]) && !m.hasLayer(groups["环境"]) && !m.hasLayer(groups["城乡融合发展"]));
  assert.deepEqual(g.counts(), {shapes: 2, items: 3});
  assert.equal(m.fits.length, 1);
  t.mock.timers.tick(1000);
  assert.deepEqual(posts, [], "setting the ticks from the app posts nothing");
  // A domain the sidebar filtered out is not offered ticked; choosing all of them is "all".
  g.view(m, {fids: null, selected: null, key: "all", domains: ["民生", "环境", "城乡融合发展"], q: "", seq: 0});
  assert.ok(["民生", "环境", "城乡融合发展"].every((d) => m.hasLayer(groups[d])));
  assert.equal(g.chosen(), null);
  t.mock.timers.tick(1000);
  assert.deepEqual(posts, []);
  delete global.L;
});

test("a view older than the map's newest post does not undo what the user did since", (t) => {
  const {g, m, posts, groups} = setup(t);
  m.removeLayer(groups["民生"]);
  t.mock.timers.tick(1);
  m.removeLayer(groups["环境"]);
  t.mock.timers.tick(1);
  assert.deepEqual(posts.map((p) => p.seq), [1, 2]);
  // The rerun for post 1 arrives after post 2 was sent: the ticks stay as the user left them.
  g.view(m, {fids: null, selected: null, key: "all", domains: ["环境", "城乡融合发展"], q: "", seq: 1});
  assert.ok(!m.hasLayer(groups["环境"]));
  g.view(m, {fids: null, selected: null, key: "all", domains: ["城乡融合发展"], q: "", seq: 2});
  t.mock.timers.tick(1000);
  assert.equal(posts.length, 2);
  // Unticking the last layer shows nothing and posts nothing: the sidebar's empty choice means "all".
  m.removeLayer(groups["城乡融合发展"]);
  t.mock.timers.tick(1);
  assert.deepEqual(g.counts(), {shapes: 0, items: 0});
  assert.equal(posts.length, 2);
  delete global.L;
});

test("the find box filters at once and posts its text once typing rests; the app's text fills it", (t) => {
  const {g, m, posts, search} = setup(t);
  const div = search.div;
  const box = div.children.find((c) => c.tag === "input"), count = div.children.find((c) => c.tag === "span");
  assert.equal(count.textContent, "地图上 4 项 · 4 处");  // items, not features: it-b-1 and it-b-2 are one
  box.value = " 医院 ";
  box.listeners.input();
  t.mock.timers.tick(100);
  assert.deepEqual(g.counts(), {shapes: 1, items: 2}, "the map filters at once");
  assert.equal(count.textContent, "地图上 1 项 · 1 处");
  assert.deepEqual(posts, []);
  box.value = "医院";  // still typing: the post waits
  box.listeners.input();
  t.mock.timers.tick(300);
  // A view arriving while typing does not overwrite the box.
  g.view(m, {fids: null, selected: null, key: "all", domains: [], q: "", seq: 0});
  assert.equal(box.value, "医院");
  t.mock.timers.tick(600);
  assert.deepEqual(posts, [{domains: null, q: "医院", seq: 1}]);
  // The app's search text (the sidebar's) fills the box and filters, without a post.
  g.view(m, {fids: null, selected: null, key: "all", domains: [], q: "晋祠", seq: 1});
  assert.equal(box.value, "晋祠");
  assert.deepEqual(g.counts(), {shapes: 1, items: 1});
  t.mock.timers.tick(1000);
  assert.equal(posts.length, 1);
  // District names match too, as in the app's table (filters.QUERY_COLUMNS).
  g.view(m, {fids: null, selected: null, key: "all", domains: [], q: "万柏林", seq: 1});
  assert.deepEqual(g.counts(), {shapes: 4, items: 5});
  delete global.L;
});

test("a standalone page (no seq in its view) keeps its layer control to itself", (t) => {
  t.mock.timers.enable({apis: ["setTimeout"]});
  global.L = fakeLeaflet();
  const g = create(), m = fakeMap(), posts = [];
  const grp = g.layer({type: "FeatureCollection", features: [place("民生", "学校", ["it-a-1"])]},
    {labels: LABELS, glyphs: {}, color: "#000", cluster: false, domain: "民生"});
  m.addLayer(grp);
  g.connect((v) => posts.push(v));
  g.view(m, {fids: null, selected: null, key: "all"});
  m.removeLayer(grp);
  t.mock.timers.tick(1000);
  assert.deepEqual(posts, []);
  assert.deepEqual(g.counts(), {shapes: 0, items: 0});
  delete global.L;
});
