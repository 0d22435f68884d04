// The published site's map (geoplan publish, see publish.py): fetch each report's drawn places, draw them
// with geoplan.js, and filter by domain, status, district and words, with the filters and the view in the
// URL hash so a link reproduces what a resident saw. No server beyond static files.
/* global L, geoplan */
window.geoplanSite = (function () {
  "use strict";
  var WORDS = {
    zh: {filter: "筛选", domain: "领域", status: "进度", district: "区县", text: "关键词", all: "全部",
         shown: "显示 {s} 处地点，{i} 项事项", data: "数据与下载", other: "English", loading: "正在加载数据…",
         failed: "数据加载失败：", reset: "清除筛选", list: "事项列表", placed: "地图上的事项",
         unplaced: "全市范围或未定位的事项", more: "另有 {n} 项未列出，请缩小筛选范围", none: "没有符合筛选的事项"},
    en: {filter: "Filter", domain: "Domain", status: "Status", district: "District", text: "Words", all: "All",
         shown: "{s} places, {i} items shown", data: "Data and downloads", other: "中文", loading: "Loading data…",
         failed: "Data failed to load: ", reset: "Clear filters", list: "Items", placed: "Items on the map",
         unplaced: "City-wide or unlocated items", more: "{n} more not listed: narrow the filters", none: "No item matches the filters"}
  };
  var KEYS = ["domain", "status", "district", "q"];
  var LISTED = 200;  // lines per part of the list; the data page's downloads have them all

  // Does an item pass the filters? ``place`` holds the place's fields (domain, district, name).
  function passes(f, place, it) {
    var q = (f.q || "").toLowerCase();
    if (f.domain && place.domain !== f.domain) { return false; }
    if (f.status && it.status !== f.status) { return false; }
    if (f.district && place.district !== f.district) { return false; }
    return !q || [place.name, it.text, it.section, it.matched].some(function (s) {
      return s && String(s).toLowerCase().indexOf(q) >= 0; });
  }

  function readHash() {
    var out = {}, h = (location.hash || "").replace(/^#/, "");
    h.split("&").forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf("="), k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
      try { out[k] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1)); } catch (err) { out[k] = ""; }
    });
    return out;
  }

  function start(map, control, cfg) {
    var W = WORDS[cfg.lang] || WORDS.zh, esc = geoplan.esc, f = {}, ready = false, els = {}, status;
    var box = L.control({position: "topleft"});
    box.onAdd = function () {
      var d = L.DomUtil.create("div", "gp-site");
      d.innerHTML = '<details class="gp-site-filters"><summary><b>' + esc(W.filter) + "</b> <span class=\"gp-site-n\"></span></summary>" +
        ["domain", "status", "district"].map(function (k) {
          return '<label>' + esc(W[k]) + ' <select data-key="' + k + '"><option value="">' + esc(W.all) + "</option></select></label>";
        }).join("") +
        '<label>' + esc(W.text) + ' <input type="search" data-key="q"></label>' +
        '<button type="button" class="gp-site-reset">' + esc(W.reset) + "</button></details>" +
        '<div class="gp-site-links"><a class="gp-site-lang" href="' + esc(cfg.other) + '">' + esc(W.other) + "</a> · " +
        cfg.reports.map(function (r) {
          return '<a href="data/' + encodeURIComponent(r.slug) + '.html" title="' + esc(r.title) + '">' + esc(W.data) +
                 (cfg.reports.length > 1 ? " (" + esc(r.title) + ")" : "") + "</a>"; }).join(" · ") +
        '</div><div class="gp-site-status">' + esc(W.loading) + "</div>";
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d;
    };
    box.addTo(map);
    var root = box.getContainer();
    status = root.querySelector(".gp-site-status");
    KEYS.forEach(function (k) { els[k] = root.querySelector('[data-key="' + k + '"]'); });
    var langLink = root.querySelector(".gp-site-lang");

    function writeHash() {
      var c = map.getCenter(), parts = [];
      KEYS.forEach(function (k) { if (f[k]) { parts.push(k + "=" + encodeURIComponent(f[k])); } });
      parts.push("map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
      var h = "#" + parts.join("&");
      if (location.hash !== h) { history.replaceState(null, "", h); }
      langLink.setAttribute("href", cfg.other + h);
    }
    // keepView: a link's own view, so no fit to what the filters show (geoplan.view fits when the key changes).
    function apply(keepView) {
      var any = KEYS.some(function (k) { return f[k]; }), fids = any ? [] : null;
      if (any) {
        geoplan.entries.forEach(function (e) {
          e.items.forEach(function (it) { if (passes(f, e.p, it)) { fids.push(it.fid); } });
        });
      }
      var key = KEYS.map(function (k) { return f[k] || ""; }).join("\u0001");
      if (keepView) { geoplan.view(map, {fids: null, selected: null, key: key}); }
      geoplan.view(map, {fids: fids, selected: null, key: key});
      var n = geoplan.counts();
      root.querySelector(".gp-site-n").textContent = W.shown.replace("{s}", n.shapes).replace("{i}", n.items);
      renderList();
      writeHash();
    }
    // The list beside the map follows the filters: the items drawn (hover highlights the place, a click opens
    // its popup) and the city-wide or unlocated ones, which have no place to draw.
    var unplaced = [], list = L.control({position: "topleft"});
    list.onAdd = function () {
      var d = L.DomUtil.create("details", "gp-unplaced gp-site-list");
      L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
      return d;
    };
    function lines(rows, title) {
      var more = rows.length - LISTED;
      return '<p class="gp-site-part"><b>' + esc(title) + " (" + rows.length + ")</b></p><ul>" +
        rows.slice(0, LISTED).join("") + "</ul>" + (more > 0 ? '<p class="gp-more">' + esc(W.more.replace("{n}", more)) + "</p>" : "");
    }
    function renderList() {
      var box = list.getContainer();
      if (!box) { return; }
      var placed = [], left = [];
      geoplan.entries.forEach(function (e) {
        if (!e.on) { return; }
        e.shown.forEach(function (it) {
          placed.push('<li data-gp-fid="' + esc(it.fid) + '" tabindex="0"><b>' + esc(e.p.name) + "</b> · " + esc(it.text) + "</li>");
        });
      });
      unplaced.forEach(function (u) {
        if (passes(f, u, u)) {
          left.push('<li data-gp-item="' + esc(u.item_id) + '"><b>' + esc(u.domain) + "</b> · " +
                    esc(cfg.lang === "en" ? u.precision_en : u.precision_zh) + "<br>" + esc(u.text) + "</li>");
        }
      });
      var open = box.open;
      box.innerHTML = '<summary><b>' + esc(W.list) + " (" + (placed.length + left.length) + ")</b></summary>" +
        (placed.length + left.length ? lines(placed, W.placed) + (unplaced.length ? lines(left, W.unplaced) : "")
                                     : "<p>" + esc(W.none) + "</p>");
      box.open = open;
    }
    function fill(sel, values) {
      values.forEach(function (v) {
        var o = document.createElement("option");
        o.value = v[0]; o.textContent = v[1];
        sel.appendChild(o);
      });
    }

    var urls = cfg.reports.map(function (r) { return "data/" + encodeURIComponent(r.slug) + ".map.json"; });
    Promise.all(urls.map(function (u) {
      return fetch(u).then(function (r) {
        if (!r.ok) { throw new Error(u + " (" + r.status + ")"); }
        return r.json();
      }).catch(function (err) { throw new Error(String(err.message || err).indexOf(u) >= 0 ? err.message : u + " (" + err + ")"); });
    })).then(function (docs) {
      var byDomain = {}, statuses = {}, districts = {};
      docs.forEach(function (doc) {
        Array.prototype.push.apply(unplaced, doc.unplaced || []);
        (doc.unplaced || []).forEach(function (u) { statuses[u.status] = cfg.options.status_labels[u.status] || u.status; });
        doc.layers.forEach(function (l) {
          var list = byDomain[l.domain] = byDomain[l.domain] || [];
          Array.prototype.push.apply(list, l.data.features);
        });
      });
      cfg.domains.forEach(function (d) {
        var feats = byDomain[d.name];
        if (!feats || !feats.length) { return; }
        var group = geoplan.layer({type: "FeatureCollection", features: feats}, Object.assign({}, cfg.options, {color: d.color}));
        group.addTo(map);
        control.addOverlay(group, esc(d.name));
        feats.forEach(function (ft) {
          var p = ft.properties;
          if (p.district) { districts[p.district] = cfg.lang === "en" ? (p.district_en || p.district) : p.district; }
          (p.items || []).forEach(function (it) { statuses[it.status] = cfg.options.status_labels[it.status] || it.status; });
        });
      });
      fill(els.domain, cfg.domains.filter(function (d) { return byDomain[d.name]; }).map(function (d) { return [d.name, d.name]; }));
      fill(els.status, Object.keys(statuses).sort().map(function (k) { return [k, statuses[k]]; }));
      fill(els.district, Object.keys(districts).sort().map(function (k) { return [k, districts[k]]; }));
      list.addTo(map);
      L.DomEvent.on(list.getContainer(), "click", function (ev) {
        var li = ev.target.closest && ev.target.closest("[data-gp-fid]"), e = li && geoplan.byFid[li.getAttribute("data-gp-fid")];
        if (!e || !e.on) { return; }
        var show = function () { e.layer.openPopup(e.layer.getLatLng ? e.layer.getLatLng() : e.layer.getBounds().getCenter()); };
        if (e.group.zoomToShowLayer) { e.group.zoomToShowLayer(e.layer, show); } else { show(); }
      });
      var h = readHash();
      KEYS.forEach(function (k) { f[k] = h[k] || ""; els[k].value = f[k]; if (els[k].value !== f[k]) { f[k] = ""; } });
      if (KEYS.some(function (k) { return f[k]; })) { root.querySelector("details").open = true; }
      status.textContent = "";
      status.style.display = "none";
      // A link's view wins over the fit to what the filters show.
      var v = /^(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(h.map || "");
      apply(Boolean(v));
      var finish = function () {
        ready = true;
        writeHash();
        document.body.setAttribute("data-geoplan-ready", "1");
      };
      // Leaflet ignores setView while a zoom animation runs (the page's own first fit may still be running
      // when cached data arrives): set the view once it has ended.
      var goTo = function () {
        if (map._animatingZoom) { map.once("zoomend", goTo); return; }
        map.setView([+v[2], +v[3]], +v[1], {animate: false});
        finish();
      };
      if (v) { goTo(); } else { finish(); }
    }).catch(function (err) {
      status.textContent = W.failed + (err.message || err);
      status.className += " gp-site-error";
      document.body.setAttribute("data-geoplan-ready", "error");
    });

    var timer = null;
    KEYS.forEach(function (k) {
      L.DomEvent.on(els[k], k === "q" ? "input" : "change", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { f[k] = els[k].value.trim(); apply(false); }, k === "q" ? 150 : 0);
      });
    });
    L.DomEvent.on(root.querySelector(".gp-site-reset"), "click", function () {
      KEYS.forEach(function (k) { f[k] = ""; els[k].value = ""; });
      apply(false);
    });
    map.on("moveend", function () { if (ready) { writeHash(); } });
  }

  return {start: start, readHash: readHash, passes: passes};
})();
