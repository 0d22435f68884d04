// The point index that clusters banded layers (geoplan.js IndexGroup, the vendored supercluster) and the
// markers that bind their popup and tooltip when first shown (Pin), in node's test runner with a small
// Leaflet of classes, events, a map with a view in Web Mercator, and feature groups.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const STATIC = path.join(__dirname, "..", "..", "src", "geoplan", "static");
const {create} = require(path.join(STATIC, "geoplan.js"));
const Supercluster = require(path.join(STATIC, "supercluster.min.js"));

function fakeLeaflet() {
  function extend(parent, props) {
    function C() { if (this.initialize) { this.initialize.apply(this, arguments); } }
    C.prototype = Object.create(parent ? parent.prototype : Object.prototype);
    Object.assign(C.prototype, props);
    C.prototype.constructor = C;
    C.extend = function (p) { return extend(C, p); };
    return C;
  }
  const Evented = extend(null, {
    on(type, fn, ctx) { (this._ev = this._ev || []).push({types: type.split(" "), fn: fn, ctx: ctx}); return this; },
    off(type, fn) { this._ev = (this._ev || []).filter((h) => !(h.types.includes(type) && h.fn === fn)); return this; },
    once(type, fn, ctx) { const self = this; const w = function (e) { self.off(type, w); fn.call(ctx, e); }; return this.on(type, w); },
    fire(type, data) {
      (this._ev || []).slice().forEach((h) => { if (h.types.includes(type)) { h.fn.call(h.ctx || this, Object.assign({type: type, target: this, sourceTarget: this}, data)); } });
      return this;
    },
  });
  const Layer = extend(Evented, {addTo(map) { map.addLayer(this); return this; }});
  const Marker = extend(Layer, {
    initialize(latlng, options) { this._latlng = Array.isArray(latlng) ? {lat: latlng[0], lng: latlng[1]} : latlng; this.options = options || {}; },
    getLatLng() { return this._latlng; },
    onAdd() { this._icon = {className: this.options.icon && this.options.icon.className}; },
    onRemove() { this._icon = null; },
    bindPopup(fn) { this._popup = fn; this.binds = (this.binds || 0) + 1; return this; },
    bindTooltip(fn) { this._tooltip = fn; return this; },
    openPopup() { if (this._popup) { this.opened = this._popup(); } return this; },
    openTooltip() { return this; },
    getPopup() { return this._popup; },
    getTooltip() { return this._tooltip; },
  });
  function bounds(s, w, n, e) {
    return {getWest: () => w, getEast: () => e, getSouth: () => s, getNorth: () => n, s: s, w: w, n: n, e: e,
      pad(r) { const dx = (e - w) * r, dy = (n - s) * r; return bounds(s - dy, w - dx, n + dy, e + dx); },
      intersects(o) { return o.w <= e && o.e >= w && o.s <= n && o.n >= s; },
      contains(ll) { return ll.lat >= s && ll.lat <= n && ll.lng >= w && ll.lng <= e; },
      extend() { return this; }, isValid() { return true; }};
  }
  const FeatureGroup = extend(Layer, {
    initialize() { this.layers = new Set(); },
    addLayer(l) { this.layers.add(l); if (this._map) { this._map.addLayer(l); } return this; },
    removeLayer(l) { this.layers.delete(l); if (this._map) { this._map.removeLayer(l); } return this; },
    hasLayer(l) { return this.layers.has(l); },
    getLayers() { return Array.from(this.layers); },
    onAdd(map) { this.layers.forEach((l) => map.addLayer(l)); },
    onRemove(map) { this.layers.forEach((l) => map.removeLayer(l)); },
  });
  return {
    Layer: Layer, Marker: Marker,
    marker: (latlng, o) => new Marker(latlng, o),
    divIcon: (o) => o,
    point: (x, y) => ({x: x, y: y}),
    latLng: (lat, lng) => ({lat: lat, lng: lng}),
    latLngBounds: (sw, ne) => ne ? bounds(sw[0], sw[1], ne[0], ne[1])
      : {n: 0, extend() { this.n += 1; return this; }, isValid() { return this.n > 0; }},
    featureGroup: () => new FeatureGroup(),
    bounds: bounds,
  };
}

// A 1000 × 700 px map at ``zoom`` around ``center`` (lat, lng), Web Mercator as Leaflet's.
function fakeMap(L, center, zoom) {
  const map = new (L.Layer.extend({
    initialize() { this.layers = new Set(); this.center = center; this.zoom = zoom; this.fits = []; },
    getZoom() { return this.zoom; },
    getMaxZoom() { return 18; },
    getBounds() {
      const scale = 256 * Math.pow(2, this.zoom), y = (lat) => Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
      const lat = (v) => (2 * Math.atan(Math.exp(v)) - Math.PI / 2) * 180 / Math.PI;
      const cy = y(this.center.lat), dy = 350 / scale * 2 * Math.PI, dx = 500 / scale * 360;
      return L.bounds(lat(cy - dy), this.center.lng - dx, lat(cy + dy), this.center.lng + dx);
    },
    setView(ll, z) { this.center = ll; this.zoom = z; this.fire("moveend"); return this; },
    fitBounds(b, o) { this.fits.push(o); return this; },
    addLayer(l) {
      if (this.layers.has(l)) { return this; }
      this.layers.add(l); l._map = this;
      if (l.onAdd) { l.onAdd(this); }
      l.fire("add");
      return this;
    },
    removeLayer(l) {
      if (!this.layers.has(l)) { return this; }
      if (l.onRemove) { l.onRemove(this); }
      this.layers.delete(l); l._map = null;
      l.fire("remove");
      return this;
    },
    hasLayer(l) { return this.layers.has(l); },
  }))();
  return map;
}

const OPTS = {labels: {precision: "定位精度", district: "区县", source: "位置来源", confidence: "可信度", n_items: "{n} 项事项",
  more: "另有 {n} 项"}, lang: "zh", glyphs: {}, color: "#d62728", cluster: true, zooms: [11, 14]};

// ``n`` points in a cloud of ~0.02° around Taiyuan's centre and one far away to the west.
function places(n) {
  const features = [];
  for (let i = 0; i < n; i++) {
    const a = i * 2.399963, r = 0.02 * Math.sqrt(i / n);
    features.push({type: "Feature", geometry: {type: "Point", coordinates: [112.55 + r * Math.cos(a), 37.87 + r * Math.sin(a)]},
      properties: {name: "站" + i, place_kind: "station", precision: "site", items: [{fid: "it-" + i + "-1"}]}});
  }
  features.push({type: "Feature", geometry: {type: "Point", coordinates: [110.5, 37.87]},
    properties: {name: "远处", place_kind: "station", precision: "site", items: [{fid: "it-far-1"}]}});
  return {type: "FeatureCollection", features: features};
}

async function settled() { await new Promise((r) => setTimeout(r, 0)); }

function setup(n, zoom) {
  const L = global.L = fakeLeaflet();
  global.Supercluster = Supercluster;
  const g = create(), map = fakeMap(L, {lat: 37.87, lng: 112.55}, zoom);
  const group = g.layer(places(n), OPTS, []);
  map.addLayer(group);
  return {L: L, g: g, map: map, group: group};
}

function teardown() { delete global.L; delete global.Supercluster; }

function shown(map) {
  const out = {clusters: [], markers: []};
  map.layers.forEach((l) => {
    if (l.geoplanCluster) { out.clusters.push(l); } else if (l instanceof global.L.Marker) { out.markers.push(l); }
  });
  return out;
}

test("a banded layer's markers are clustered by the index: counts add up, only what is in view is on the map", async () => {
  const {g, map, group} = setup(300, 10);
  assert.ok(group.zoomToShowLayer && group.getVisibleParent, "the index group, not markercluster");
  await settled();
  let on = shown(map);
  const total = on.clusters.reduce((k, c) => k + c.geoplanCluster.count, 0) + on.markers.length;
  assert.ok(on.clusters.length >= 1 && on.clusters.length < 10, "the cloud is a few clusters at the city view");
  assert.equal(total, 300, "the far place is out of the padded view; the cloud is all counted");
  assert.match(on.clusters[0].options.icon.className, /^marker-cluster marker-cluster-(small|medium|large)$/);
  assert.match(on.clusters[0].options.icon.html, /^<div><span>\d+<\/span><\/div>$/);
  // From zoom 15 every place is a marker of its own, as with markercluster's disableClusteringAtZoom.
  map.setView({lat: 37.87, lng: 112.55}, 15);
  on = shown(map);
  assert.equal(on.clusters.length, 0);
  assert.ok(on.markers.length > 50 && on.markers.length < 301, on.markers.length);
  assert.equal(g.counts().shapes, 301, "the in-map counts count every place, drawn or not");
  teardown();
});

test("a marker binds its popup and tooltip when it first goes on the map or is asked to open", async () => {
  const {g, map} = setup(300, 10);
  await settled();
  const far = g.byFid["it-far-1"].layer, near = g.byFid["it-0-1"].layer;
  assert.equal(far.binds, undefined, "out of view: nothing bound");
  assert.equal(near.binds, undefined, "in a cluster: nothing bound");
  map.setView({lat: 37.87, lng: 110.5}, 10);
  assert.ok(map.hasLayer(far) && far.binds === 1, "bound once shown");
  far.openPopup();
  assert.equal(far.binds, 1, "and only once");
  assert.match(far.opened, /远处/);
  teardown();
});

test("a click on a cluster zooms to where it splits; getVisibleParent names the cluster holding a marker", async () => {
  const {g, map, group} = setup(300, 10);
  await settled();
  const pin = g.byFid["it-5-1"].layer, parent = group.getVisibleParent(pin);
  assert.ok(parent && parent.geoplanCluster, "held by a cluster in view");
  assert.equal(group.getVisibleParent(g.byFid["it-far-1"].layer), null, "out of view: no parent");
  parent.fire("click");
  assert.ok(map.zoom > 10, map.zoom);
  const after = group.getVisibleParent(pin);
  assert.ok(after === pin || after.geoplanCluster.count < parent.geoplanCluster.count, "a smaller cluster or itself");
  teardown();
});

test("zoomToShowLayer zooms until the marker is its own, then calls back; a selected item opens its popup", async () => {
  const {g, map, group} = setup(300, 10);
  await settled();
  const pin = g.byFid["it-7-1"].layer;
  let called = 0;
  group.zoomToShowLayer(pin, () => { called += 1; });
  assert.equal(called, 1);
  assert.ok(map.hasLayer(pin) && map.zoom <= 15, map.zoom);
  // The share link / the app's selection: view() reveals the place and opens its popup.
  map.setView({lat: 37.87, lng: 112.55}, 10);
  g.view(map, {fids: null, selected: "it-9-1", key: "all"});
  await new Promise((r) => setTimeout(r, 80));
  const nine = g.byFid["it-9-1"].layer;
  assert.ok(map.hasLayer(nine), "shown as itself");
  assert.match(nine.opened, /站9/);
  teardown();
});

test("a filter rebuilds the index once: the clusters count only what is shown, and come back", async () => {
  const {g, map} = setup(300, 10);
  await settled();
  const count = () => { const on = shown(map); return on.clusters.reduce((k, c) => k + c.geoplanCluster.count, 0) + on.markers.length; };
  assert.equal(count(), 300);
  const half = Array.from({length: 150}, (_, i) => "it-" + i + "-1");
  g.view(map, {fids: half, selected: null, key: "half"});
  await settled();
  assert.equal(count(), 150);
  assert.equal(g.counts().shapes, 150);
  g.view(map, {fids: null, selected: null, key: "all"});
  await settled();
  assert.equal(count(), 300);
  // Taken off the map (the layer control), nothing of it stays; put back, it draws again.
  map.removeLayer(g.byFid["it-0-1"].group);
  assert.equal(shown(map).clusters.length + shown(map).markers.length, 0);
  map.addLayer(g.byFid["it-0-1"].group);
  await settled();
  assert.equal(count(), 300);
  teardown();
});

test("without supercluster, or unclustered, a banded layer keeps markercluster or a feature group", () => {
  const L = global.L = fakeLeaflet();
  delete global.Supercluster;
  let asked = null;
  L.markerClusterGroup = (o) => {
    asked = o;
    const fg = L.featureGroup();
    fg.addLayers = (ls) => ls.forEach((l) => fg.addLayer(l));
    return fg;
  };
  const g = create();
  g.layer(places(3), OPTS, []);
  assert.ok(asked && asked.maxClusterRadius === 40 && asked.disableClusteringAtZoom === 15);
  global.Supercluster = Supercluster;
  asked = null;
  g.layer(places(3), Object.assign({}, OPTS, {index: false}), []);
  assert.ok(asked, "index: false asks for markercluster (bench/)");
  asked = null;
  const plain = g.layer(places(3), Object.assign({}, OPTS, {cluster: false}), []);
  assert.equal(asked, null);
  assert.ok(!plain.zoomToShowLayer);
  teardown();
});

test("a banded layer fetched by URL (the app's) is an index group at once, filled and clustered when the data comes", async () => {
  const L = global.L = fakeLeaflet();
  global.Supercluster = Supercluster;
  let answer;
  global.fetch = () => new Promise((resolve) => { answer = resolve; });
  try {
    const g = create(), map = fakeMap(L, {lat: 37.87, lng: 112.55}, 10);
    const group = g.layer({url: "layers.json", i: 0}, OPTS);
    assert.ok(group.zoomToShowLayer && group.getVisibleParent, "the index group before the data");
    map.addLayer(group);  // the layer control and the page refer to it at once
    await settled();
    assert.equal(shown(map).clusters.length + shown(map).markers.length, 0);
    answer({ok: true, json: () => Promise.resolve({layers: [places(300)], bands: [[]], props: [null]})});
    await new Promise((r) => setTimeout(r, 10));
    const on = shown(map);
    assert.equal(on.clusters.reduce((k, c) => k + c.geoplanCluster.count, 0) + on.markers.length, 300);
    assert.equal(g.counts().shapes, 301);
  } finally {
    teardown();
    delete global.fetch;
  }
});
