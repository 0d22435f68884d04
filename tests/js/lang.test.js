// The app's map in two languages and its layers fetched by URL (geoplan.js setLang, remote): node's runner.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const {create} = require(path.join(__dirname, "..", "..", "src", "geoplan", "static", "geoplan.js"));

const ZH = {precision: "定位精度", district: "区县", source: "位置来源", confidence: "可信度", quantities: "数量",
  high: "高", n_items: "{n} 项事项", more: "另有 {n} 项，见事项表", search: "在地图上查找", found: "{n} 项"};
const EN = {precision: "Precision", district: "District", source: "Location source", confidence: "Confidence",
  quantities: "Quantities", high: "high", n_items: "{n} items", more: "{n} more: see the table",
  search: "Find on the map", found: "{n} found"};
const I18N = {zh: {labels: ZH, status_labels: {starting: "启动"}}, en: {labels: EN, status_labels: {starting: "starting"}}};

function opts() {
  return {labels: ZH, lang: "zh", status_labels: I18N.zh.status_labels, i18n: I18N, glyphs: {}, color: "#d62728",
    cluster: false};
}

// Enough of Leaflet for layer(), view() and search(): layers know their group; controls get a fake DOM.
function fakeLeaflet() {
  function el() {
    return {attrs: {}, children: [], setAttribute(k, v) { this.attrs[k] = v; }, getAttribute(k) { return this.attrs[k]; }};
  }
  function layer(f) {
    return {f: f, on: false, bindTooltip() {}, bindPopup(fn) { this.popup = fn; }, setStyle() {}, openPopup() {},
      getLatLng() { return {lat: 37.85, lng: 112.58}; }};
  }
  function group() {
    return {layers: new Set(), addLayer(l) { this.layers.add(l); l.on = true; },
      removeLayer(l) { this.layers.delete(l); l.on = false; }};
  }
  const L = {
    featureGroup: group, latLngBounds: () => ({n: 0, extend() { this.n += 1; return this; }, isValid() { return this.n > 0; }}),
    divIcon: (o) => o, marker: () => layer(null),
    geoJson(data, o) { data.features.forEach((f) => { const l = layer(f); o.onEachFeature(f, l); }); },
    control() { return {addTo(map) { this.box = this.onAdd(map); return this; }}; },
    DomUtil: {create(tag, cls, parent) { const e = el(); e.tag = tag; e.className = cls; if (parent) { parent.children.push(e); } return e; }},
    DomEvent: {disableClickPropagation() {}, disableScrollPropagation() {}, on(target, ev, fn) { target["on" + ev] = fn; }},
  };
  return L;
}

function place(name, fid) {
  return {type: "Feature", geometry: {type: "Point", coordinates: [112.58, 37.85]},
    properties: {domain: "民生", name: name, precision: "site", precision_zh: "精确地点", precision_en: "exact site",
      district: "小店区", district_en: "Xiaodian District", confidence: "high",
      items: [{fid: fid, text: "启动" + name + "建设", status: "starting", matched: name}]}};
}

function fakeMap() {
  const container = {attrs: {}, setAttribute(k, v) { this.attrs[k] = v; }};
  const open = [];
  return {container: container, open: open, fits: [], fitBounds(b, o) { this.fits.push(o); },
    getContainer() { return container; }, eachLayer(fn) { open.forEach(fn); }};
}

test("a view's language switches popups, the find box and the map's fixed texts in place", () => {
  global.L = fakeLeaflet();
  global.window = {geoplanUI: {lang(l) { this.was = l; }}};
  try {
    const g = create();
    const o = {...opts(), domain_en: "民生 · People's wellbeing"};
    g.layer({type: "FeatureCollection", features: [place("太原火车站", "it-a-1")]}, o);
    const m = fakeMap();
    const box = g.search(m, {search: ZH.search, found: ZH.found}, {zh: {search: ZH.search, found: ZH.found},
                                                                     en: {search: EN.search, found: EN.found}}).box;
    const input = box.children[0];
    g.view(m, {fids: null, selected: null, key: "all", lang: "zh"});
    assert.equal(m.container.attrs["data-gp-lang"], "zh");
    assert.equal(input.placeholder, "在地图上查找");
    const e = g.byFid["it-a-1"];
    assert.match(g.popup(e), /定位精度.*精确地点/);
    assert.match(g.popup(e), /gp-meta">民生 · 启动/, "the report's own domain word in Chinese");
    // An open popup is redrawn in the new language.
    let updated = 0;
    m.open.push({isPopupOpen: () => true, getPopup: () => ({update() { updated += 1; }})});
    g.view(m, {fids: null, selected: null, key: "all", lang: "en"});
    assert.equal(m.container.attrs["data-gp-lang"], "en");
    assert.equal(g.lang(), "en");
    assert.equal(o.lang, "en");
    assert.equal(input.placeholder, "Find on the map");
    assert.equal(input.getAttribute("aria-label"), "Find on the map");
    assert.equal(updated, 1);
    assert.equal(window.geoplanUI.was, "en", "the locate button's words follow (map-ui.js)");
    const html = g.popup(e);
    assert.match(html, /Precision.*exact site/);
    assert.match(html, /District<\/th><td>Xiaodian District/);
    assert.match(html, /starting/);
    assert.match(html, /gp-meta">民生 · People&#39;s wellbeing · starting/, "the domain glossed in English");
    assert.ok(!html.includes("定位精度"));
    // The same language again changes nothing; back to Chinese restores every word.
    g.view(m, {fids: null, selected: null, key: "all", lang: "en"});
    assert.equal(updated, 1);
    g.view(m, {fids: null, selected: null, key: "all", lang: "zh"});
    assert.match(g.popup(e), /定位精度.*精确地点/);
    assert.equal(input.placeholder, "在地图上查找");
    assert.equal(m.container.attrs["data-gp-lang"], "zh");
  } finally {
    delete global.window;
  }
});

test("a view without a language (a one-language page) leaves the words alone", () => {
  global.L = fakeLeaflet();
  const g = create();
  const o = opts();
  g.layer({type: "FeatureCollection", features: [place("晋祠", "it-b-1")]}, o);
  const m = fakeMap();
  g.view(m, {fids: null, selected: null, key: "all"});
  assert.equal(m.container.attrs["data-gp-lang"], undefined);
  assert.equal(o.labels, ZH);
});

test("layers by URL: one fetch for every layer, filled when it comes, the last view applied then", async () => {
  global.L = fakeLeaflet();
  const calls = [];
  let answer;
  global.fetch = (url) => {
    calls.push(url);
    return new Promise((resolve) => { answer = resolve; });
  };
  try {
    const g = create();
    const a = g.layer({url: "../../media/x.json", i: 0}, opts());
    const b = g.layer({url: "../../media/x.json", i: 1}, opts());
    assert.deepEqual(calls, ["../../media/x.json"], "fetched once");
    assert.equal(a.layers.size + b.layers.size, 0, "empty groups at once: the page's script refers to them");
    const m = fakeMap();
    g.view(m, {fids: ["it-d-1"], selected: null, key: "k1", lang: "en"});
    assert.deepEqual(g.counts(), {shapes: 0, items: 0});
    const docs = [{type: "FeatureCollection", features: [place("太原站", "it-c-1")]},
                  {type: "FeatureCollection", features: [place("汾河", "it-d-1"), place("晋阳湖", "it-e-1")]}];
    answer({ok: true, json: () => Promise.resolve({layers: docs, bands: [null, null], props: [null, null]})});
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(g.entries.length, 3);
    assert.deepEqual(g.counts(), {shapes: 1, items: 1}, "the view sent before the data is applied to it");
    assert.equal(b.layers.size, 1);
    assert.equal(a.layers.size, 0);
    assert.equal(m.fits.length, 1, "a filtered view fits the map to what it shows once the data is there");
    assert.match(g.popup(g.byFid["it-d-1"]), /Precision/, "the layers fetched later speak the view's language");
  } finally {
    delete global.fetch;
  }
});

test("layers by URL: a failed fetch leaves the map usable and says why on the console", async () => {
  global.L = fakeLeaflet();
  global.fetch = () => Promise.resolve({ok: false, status: 404, json: () => Promise.reject(new Error("no"))});
  const errors = [];
  const saved = console.error;
  console.error = (...a) => errors.push(a.join(" "));
  try {
    const g = create();
    const grp = g.layer({url: "gone.json", i: 0}, opts());
    g.view(fakeMap(), {fids: null, selected: null, key: "all"});
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(grp.layers.size, 0);
    assert.ok(errors.some((e) => e.includes("gone.json: HTTP 404")), errors.join("\n"));
    assert.deepEqual(g.counts(), {shapes: 0, items: 0});
  } finally {
    console.error = saved;
    delete global.fetch;
  }
});
