// geoplan's map script: styles, icons, tooltips and popups of the domain layers, the view the app sends
// (which items to show, which one is selected) and the map's own search box.
//
// Loaded before the map's script (served by Streamlit in the app, inlined in standalone pages; see
// geoplan.offline). Every string from a report passes through esc() before it becomes HTML. Each call of
// create() has its own state, so node's test runner (tests/js/) can test one map per test.
/* global L */
(function () {
  "use strict";
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;"};
  function esc(s) { return s == null ? "" : String(s).replace(/[&<>"'`]/g, function (c) { return ESC[c]; }); }

  function create() {
    var APPROX = {near: 1, estimated: 1, district: 1, city: 1}, AREA = {district: 1, city: 1}, MAX_ITEMS = 20;
    var entries = [], byFid = {}, syncs = [], arrivals = {}, loaders = [], options = [], fetches = {}, waiting = 0;
    var queued = null, icons = {};
    var state = {fids: null, query: "", raw: "", selected: null, key: undefined, map: null};
    // The app's two-way filter (see connect): the domain layers by domain, the last filter state both sides
    // know (``known``: sent by the map or received in a view), the map's own sequence number of posts.
    var domainGroups = [], link = {post: null, app: false, seq: 0, known: null, applying: false, timer: null, qtimer: null,
                typing: false};
    function planned(p) { return p.place_status && p.place_status !== "existing"; }
    function isSelected(e) { return state.selected != null && e.shown.some(function (it) { return it.fid === state.selected; }); }
    function style(e) {
      var p = e.p, c = e.o.color, sel = isSelected(e);
      if (p.geometry_kind === "line") {
        return {color: c, weight: sel ? 8 : (p.place_kind === "metro_line" ? 5 : 4), opacity: 0.9,
                dashArray: planned(p) ? "10 8" : (APPROX[p.precision] ? "2 7" : null)};
      }
      if (p.precision === "district" || p.precision === "city") {
        return {color: c, weight: sel ? 4 : 1.5, dashArray: "4 6", fillColor: c, fillOpacity: 0.06};
      }
      return {color: c, weight: sel ? 5 : 2, fillColor: c, fillOpacity: 0.25, dashArray: planned(p) ? "6 6" : null};
    }
    function point(p, latlng, o) {
      var g = esc(o.glyphs[p.place_kind] || "•"), html, size, anchor;
      if (APPROX[p.precision]) {
        html = '<div class="gp-approx" style="border-color:' + o.color + ';color:' + o.color +
               ';background:' + o.color + '22">≈' + g + '</div>';
        size = [30, 30]; anchor = [15, 15];
      } else {
        html = '<div class="gp-pin" style="background:' + o.color + '"><span>' + g + '</span></div>';
        size = [26, 26]; anchor = [13, 30];
      }
      // One icon per look (colour, glyph, kind), shared: 100k places have a few dozen looks.
      var icon = icons[html] || (icons[html] = L.divIcon({className: "gp-icon", html: html, iconSize: size, iconAnchor: anchor}));
      return new (pinClass())(latlng, {icon: icon, title: p.name || ""});
    }
    // A marker whose popup and tooltip are bound when it first goes on the map or is asked to open (see
    // lazy): binding them on each of 100k places made two Leaflet objects and a dozen listeners per place
    // (0.36 s of the first draw, bench/README.md) for the few hundred markers ever on the map.
    var Pin = null;
    function pinClass() {
      if (Pin) { return Pin; }
      if (!L.Marker || !L.Marker.extend) { Pin = function (latlng, opts) { return L.marker(latlng, opts); }; return Pin; }
      var base = L.Marker.prototype;
      Pin = L.Marker.extend({
        onAdd: function (map) { base.onAdd.call(this, map); this.geoplanBind(); return this; },
        openPopup: function (latlng) { this.geoplanBind(); return base.openPopup.call(this, latlng); },
        openTooltip: function (latlng) { this.geoplanBind(); return base.openTooltip.call(this, latlng); },
        getPopup: function () { this.geoplanBind(); return base.getPopup.call(this); },
        getTooltip: function () { this.geoplanBind(); return base.getTooltip.call(this); },
        geoplanBind: function () { var f = this.geoplanLazy; if (f) { this.geoplanLazy = null; f(this); } }
      });
      return Pin;
    }
    // Bind ``e``'s popup and tooltip to marker ``l`` when it needs them (a Pin), else at once.
    function lazy(e, l) {
      if (Pin && l instanceof Pin && l.geoplanBind && !e.o.eager) {  // o.eager: bound at once, as before (bench/)
        l.geoplanLazy = function (m) { bind(e, m); };
        if (l._map) { l.geoplanBind(); }
      } else {
        bind(e, l);
      }
    }
    function highlight(text, name) {
      text = text || "";
      var i = name ? text.indexOf(name) : -1;
      if (i < 0) { return esc(text); }
      return esc(text.slice(0, i)) + "<mark>" + esc(name) + "</mark>" + esc(text.slice(i + name.length));
    }
    function rows(list) {
      return list.filter(function (r) { return r[1]; }).map(function (r) {
        return "<tr><th>" + esc(r[0]) + "</th><td>" + r[1] + "</td></tr>"; }).join("");
    }
    function itemHtml(it, p, o) {
      // The clause's own status only: "建成投用 (规划/在建)" read as a contradiction; dashes show planned places.
      var L_ = o.labels, status = esc((o.status_labels || {})[it.status] || it.status_zh || it.status);
      var domain = o.lang === "en" && o.domain_en ? o.domain_en : p.domain;  // glossed where the vocabulary can
      var meta = [esc(domain) + (it.section ? " · " + esc(it.section) : ""), status,
                  it.quantities ? esc(L_.quantities) + ": " + esc(it.quantities) : ""];
      return '<li' + (it.fid === state.selected ? ' class="gp-sel"' : "") + '><p class="gp-text">' +
             highlight(it.text, it.matched) + '</p><div class="gp-meta">' +
             meta.filter(Boolean).join(" · ") + "</div></li>";
    }
    // Residents get a short link (the site's name); planners the full citation. A planner's correction
    // keeps its whole note: it is the only account of where the place is.
    function source(p, o) {
      var url = /^https?:\/\//.test(p.source_url || "") ? p.source_url : null, text = p.source || "", host;
      if (o.planner || p.precision === "corrected") {
        return esc(text) + (url ? ' <a href="' + esc(url) + '" target="_blank" rel="noopener noreferrer">↗</a>' : "");
      }
      if (url) {
        try { host = new URL(url).hostname.replace(/^www\./, ""); } catch (err) { host = url; }
        return '<a class="gp-src" href="' + esc(url) + '" title="' + esc(text) + '" target="_blank" rel="noopener noreferrer">' +
               esc(host) + " ↗</a>";
      }
      var short = text.split(/[:：;；(（]/)[0].trim();
      return '<span title="' + esc(text) + '">' + esc(short.length > 32 ? short.slice(0, 31) + "…" : short) + "</span>";
    }
    function popup(e) {
      var p = e.p, o = e.o, L_ = o.labels, items = e.shown.slice();
      if (e.pending) {  // its text comes after the first draw (see deferred): fetched now, filled in then
        e.pending();
        return '<div class="gp-popup"><b>' + esc(p.name) + '</b><p class="gp-loading">' +
               esc(L_.loading || "loading…") + "</p></div>";
      }
      items.sort(function (a, b) { return (b.fid === state.selected) - (a.fid === state.selected); });
      var more = items.length - MAX_ITEMS, body = rows([
        [L_.precision, esc(o.lang === "en" ? p.precision_en : p.precision_zh) +
                       (o.planner && p.precision_code != null ? " (IATI " + esc(p.precision_code) + ")" : "")],
        [L_.district, esc(o.lang === "en" ? (p.district_en || p.district) : p.district)],
        [L_.source, source(p, o)],
        [L_.confidence, esc(L_[p.confidence] || p.confidence)]
      ]);
      return '<div class="gp-popup"><b>' + esc(p.name) + "</b>" +
             (items.length > 1 ? ' <span class="gp-n">' + esc(L_.n_items.replace("{n}", items.length)) + "</span>" : "") +
             '<ol class="gp-items">' + items.slice(0, MAX_ITEMS).map(function (it) { return itemHtml(it, p, o); }).join("") +
             "</ol>" + (more > 0 ? '<p class="gp-more">' + esc(L_.more.replace("{n}", more)) + "</p>" : "") +
             "<table>" + body + "</table></div>";
    }
    function tooltip(e) {
      return esc(e.p.name || "") + (e.shown.length > 1 ? " (" + e.shown.length + ")" : "");
    }
    function bind(e, l) {
      l.bindTooltip(function () { return tooltip(e); }, {sticky: true});
      l.bindPopup(function () { return popup(e); }, {maxWidth: 380});
    }
    function entry(f, o, group) {
      var e = {p: f.properties, o: o, items: f.properties.items || [], layer: null, group: group, on: true};
      e.shown = e.items;
      e.items.forEach(function (it) { byFid[it.fid] = e; });
      entries.push(e);
      return e;
    }
    // A bbox's size in pixels at zoom 0 (the larger of its width and its Web Mercator height): times 2**z at
    // zoom z. Spherical Mercator as Leaflet's EPSG:3857, so it matches what the map draws.
    function span(b) {
      var y = function (lat) { var s = Math.sin(Math.max(-85.05, Math.min(85.05, lat)) * Math.PI / 180);
                               return Math.log((1 + s) / (1 - s)) / 2; };
      return 256 * Math.max((b[2] - b[0]) / 360, Math.abs(y(b[3]) - y(b[1])) / (2 * Math.PI));
    }
    // Whether a shape of that span is under ``px`` pixels at zoom ``z`` (never, without px).
    function tiny(s, z, px) { return !!px && s * Math.pow(2, z) < px; }
    // ``bands`` (optional): the finer zoom bands' geometries, each an array aligned with data.features
    // (null: as the band before) or the id of a JSON block holding it, parsed when first needed. A layer
    // with bands draws its lines and areas lazily (see sync); points are made at once, as without.
    // ``props`` (optional, with bands): every feature's whole properties, aligned with data.features, whose
    // own properties keep only what drawing needs; an array, a JSON block's id or {id, src} (see deferred).
    // ``data`` may also be {url, i}: the layer is the i-th of the JSON document at url (maps.layers_json),
    // fetched once (see remote); ``into``: the group to fill (remote's), else a new one.
    function layer(data, o, bands, props, into) {
      options.push(o);
      if (data && data.url) { return remote(data, o); }
      // animate: false for many shapes: markercluster's zoom animation forces a synchronous layout of the
      // whole page (_forceLayout), and with thousands of SVG paths that cost seconds (bench/README.md).
      var group = into || clusterGroup(o), made = [];
      if (o.domain != null) { watch(group, o.domain); }
      if (bands) { return banded(data, o, bands, group, props); }
      L.geoJson(data, {
        style: function (f) { return style({p: f.properties, o: o, shown: []}); },
        pointToLayer: function (f, latlng) { return point(f.properties, latlng, o); },
        onEachFeature: function (f, l) {
          var e = entry(f, o, group);
          e.layer = l;
          lazy(e, l);
          made.push(l);
        }
      });
      if (o.cluster) { group.addLayers(made); } else { made.forEach(function (l) { group.addLayer(l); }); }
      return group;
    }
    // A layer's group: its markers clustered (o.cluster), else a plain feature group. A banded layer
    // (o.zooms) clusters with one index built for every zoom at once (IndexGroup), the others with
    // markercluster as before (o.index === false: markercluster for banded layers too, for bench/).
    function clusterGroup(o) {
      if (!o.cluster) { return L.featureGroup(); }
      if (o.zooms && o.index !== false && indexable()) { return new (indexClass())(); }
      return L.markerClusterGroup({maxClusterRadius: 40, disableClusteringAtZoom: 15, showCoverageOnHover: false,
                                   animate: o.animate !== false});
    }
    function indexable() {
      return typeof Supercluster !== "undefined" && !!(L.Layer && L.Layer.extend && L.Marker);
    }
    // The markers of a banded layer (its points, and its lines and areas drawn as dots) clustered by one
    // index of every zoom, built at once (supercluster, vendored beside this file): markercluster clustered
    // the ~97k markers of 100k distinct places zoom by zoom, 2.7 s of a 6.9 s first draw (bench/README.md).
    // Only the clusters and markers in (padded) view are on the map; a filter or a dot that became its
    // shape rebuilds the index (a few tenths of a second at 100k markers). It answers what geoplan.js,
    // map-ui.js and site.js ask of a markercluster group: addLayers/removeLayers, getVisibleParent,
    // zoomToShowLayer. Lines and areas drawn as shapes are on the map as they are. A cluster shows its count
    // as markercluster's do (same classes and style sheet), and a click zooms to where it splits.
    var IndexGroup = null, RADIUS = 40, LAST_CLUSTERED_ZOOM = 14;  // markercluster: radius 40, none from 15
    function indexClass() {
      if (IndexGroup) { return IndexGroup; }
      IndexGroup = L.Layer.extend({
        initialize: function () {
          this._gpPins = new Set();  // the markers of the layer, clustered or not
          this._gpFg = L.featureGroup();  // what is on the map: shapes, and the markers and clusters in view
          this._gpOn = new Set();  // the markers and clusters of _gpFg
          this._gpIndex = null; this._gpDirty = true; this._gpQueued = false; this._gpParents = null; this._gpClusters = {};
        },
        addLayers: function (ls) { return this._gpChange(ls, true); },
        removeLayers: function (ls) { return this._gpChange(ls, false); },
        addLayer: function (l) { return this._gpChange([l], true); },
        removeLayer: function (l) { return this._gpChange([l], false); },
        hasLayer: function (l) { return this._gpPins.has(l) || this._gpFg.hasLayer(l); },
        getLayers: function () { return Array.from(this._gpPins).concat(this._gpFg.getLayers().filter(function (l) {
          return !(l instanceof L.Marker); })); },
        eachLayer: function (fn, ctx) { this.getLayers().forEach(fn, ctx); return this; },
        _gpChange: function (ls, add) {
          for (var i = 0; i < ls.length; i++) {
            var l = ls[i];
            if (!(l instanceof L.Marker)) {
              if (add) { this._gpFg.addLayer(l); } else { this._gpFg.removeLayer(l); }
            } else if (add ? !this._gpPins.has(l) : this._gpPins.has(l)) {
              if (add) { this._gpPins.add(l); } else { this._gpPins.delete(l); }
              if (!add && this._gpOn.has(l)) { this._gpFg.removeLayer(l); this._gpOn.delete(l); }
              this._gpDirty = true;
            }
          }
          if (this._gpDirty && this._map) { this._gpQueue(); }
          return this;
        },
        onAdd: function (map) {
          map.addLayer(this._gpFg);
          map.on("moveend", this._gpRender, this);
          this._gpQueue();  // once this script's other layers and shapes are in: one index, not two
        },
        onRemove: function (map) {
          map.off("moveend", this._gpRender, this);
          this._gpOn.forEach(function (l) { this._gpFg.removeLayer(l); }, this);
          this._gpOn = new Set(); this._gpParents = null;
          map.removeLayer(this._gpFg);
        },
        // Changes of one script run (a filter's removals and additions, a band's dots) make one index.
        _gpQueue: function () {
          var self = this;
          if (this._gpQueued) { return; }
          this._gpQueued = true;
          Promise.resolve().then(function () { if (self._gpQueued) { self._gpRender(); } });
        },
        _gpFlush: function () { if (this._map && (this._gpQueued || this._gpDirty)) { this._gpRender(); } },
        _gpBuild: function () {
          var points = [];
          // A point's properties are its marker: supercluster hands them back as they are (a leaf's, not a cluster's).
          this._gpPins.forEach(function (l) { var ll = l.getLatLng(); points.push({geometry: {coordinates: [ll.lng, ll.lat]}, properties: l}); });
          // extent 256: Leaflet's tiles, so that the radius is in screen pixels as markercluster's.
          this._gpIndex = new Supercluster({radius: RADIUS, extent: 256, maxZoom: LAST_CLUSTERED_ZOOM}).load(points);
          this._gpClusters = {};
          this._gpDirty = false;
        },
        _gpRender: function () {
          var map = this._map;
          this._gpQueued = false;
          if (!map) { return; }
          if (this._gpDirty || !this._gpIndex) { this._gpBuild(); }
          var b = map.getBounds().pad(0.25), w = b.getWest(), e = b.getEast();
          if (e - w >= 360) { w = -180; e = 180; }
          var list = this._gpIndex.getClusters([w, Math.max(-90, b.getSouth()), e, Math.min(90, b.getNorth())],
                                             Math.round(map.getZoom()));
          var want = new Set(), i;
          for (i = 0; i < list.length; i++) { var p = list[i].properties; want.add(p.cluster ? this._gpCluster(list[i]) : p); }
          this._gpOn.forEach(function (l) { if (!want.has(l)) { this._gpFg.removeLayer(l); } }, this);
          want.forEach(function (l) { if (!this._gpOn.has(l)) { this._gpFg.addLayer(l); } }, this);
          this._gpOn = want;
          this._gpParents = null;
        },
        _gpCluster: function (c) {
          var id = c.properties.cluster_id, m = this._gpClusters[id];
          if (!m) {
            var n = c.properties.point_count, size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
            m = this._gpClusters[id] = L.marker([c.geometry.coordinates[1], c.geometry.coordinates[0]], {
              icon: L.divIcon({html: "<div><span>" + n + "</span></div>", className: "marker-cluster marker-cluster-" + size,
                               iconSize: L.point(40, 40)})});
            m.geoplanCluster = {id: id, count: n};
            m.on("click", function () { this.zoomToCluster(m); }, this);
          }
          return m;
        },
        zoomToCluster: function (m) {
          var map = this._map;
          if (map && m.geoplanCluster) {
            map.setView(m.getLatLng(), Math.min(this._gpIndex.getClusterExpansionZoom(m.geoplanCluster.id), map.getMaxZoom()));
          }
        },
        // The marker itself when it is on the map, else the cluster in view that holds it; null out of view.
        getVisibleParent: function (l) {
          this._gpFlush();
          if (this._gpOn.has(l)) { return l; }
          if (!this._gpParents && this._gpIndex) {
            var parents = this._gpParents = new Map(), index = this._gpIndex;
            this._gpOn.forEach(function (m) {
              if (m.geoplanCluster) { index.getLeaves(m.geoplanCluster.id, Infinity).forEach(function (f) { parents.set(f.properties, m); }); }
            });
          }
          return (this._gpParents && this._gpParents.get(l)) || null;
        },
        // Zoom (without animation) until ``l`` is a marker of its own on the map, then call ``fn``.
        zoomToShowLayer: function (l, fn) {
          var map = this._map;
          if (!map || !this._gpPins.has(l)) { return; }
          for (var i = 0; i < 2 + LAST_CLUSTERED_ZOOM; i++) {
            var parent = this.getVisibleParent(l), z = map.getZoom();
            if (parent === l) { if (fn) { fn(); } return; }
            if (!parent && i > 0) { return; }
            var next = parent ? Math.max(z + 1, this._gpIndex.getClusterExpansionZoom(parent.geoplanCluster.id)) : z;
            map.setView(l.getLatLng(), Math.min(next, map.getMaxZoom()), {animate: false});
          }
        }
      });
      return IndexGroup;
    }
    // Lines and areas by zoom band, built only when they meet the view: 10k distinct places are 1.08M
    // vertices, and making a Leaflet layer of each at once took 14-17 s to a first draw (bench/README.md).
    // Each entry keeps the layers it has had (one per band), so panning back costs nothing.
    function banded(data, o, bands, group, props) {
      var feats = data.features, shapes = [], made = [], parsed = [], map = null, mine = [];
      var renderer = o.canvas ? L.canvas({padding: 0.5}) : null;
      // Band k >= 1: an array, the id of a JSON block in the page, or {id, src}: a data file beside the page
      // (``x.data/…js``, calling geoplan.band(id, geometries)), loaded by a script element so that file://
      // pages work too. Until a file has come, its band draws as the coarser one before it.
      function geometries(k) {
        var b = bands[k - 1];
        if (!parsed[k] && b && b.src) {
          parsed[k] = "loading";
          arrivals[b.id] = function (data) { parsed[k] = data; stale(k); sync(); };
          var tag = document.createElement("script");
          tag.src = b.src;
          document.head.appendChild(tag);
        } else if (!parsed[k]) {
          parsed[k] = typeof b === "string" ? JSON.parse(document.getElementById(b).textContent) : b;
        }
        return parsed[k] === "loading" ? null : parsed[k];
      }
      function geometry(e, k) {
        for (var j = k; j >= 1; j--) { var gs = geometries(j), g = gs && gs[e.i]; if (g) { return g; } }
        return e.f.geometry;
      }
      function stale(k) { shapes.forEach(function (e) { if (e.bands[k] && e.bands[k] !== e.layer) { delete e.bands[k]; } }); }
      feats.forEach(function (f, i) {
        var e = entry(f, o, group);
        mine.push(e);
        if (!f.bbox) {  // a point (a line or area has its bbox, and no geometry if the first band draws it as a marker)
          e.layer = point(f.properties, L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]), o);
          e.layer.feature = f;
          lazy(e, e.layer);
          made.push(e.layer);
        } else {
          e.i = i; e.f = f; e.bbox = f.bbox; e.bands = [];
          e.bounds = L.latLngBounds([f.bbox[1], f.bbox[0]], [f.bbox[3], f.bbox[2]]);
          e.span = span(f.bbox);
          shapes.push(e);
        }
      });
      function band(z) { var k = 0; (o.zooms || []).forEach(function (m) { if (z >= m) { k += 1; } }); return k; }
      // A line or area under o.dot_px pixels at the zoom is drawn as a marker in the layer's cluster, at its
      // bbox's centre (within those few pixels of the shape): at the whole-city view of 10k distinct places
      // 5,648 of the 5,944 lines and areas are under 24 px, and each SVG path cost the first draw (main-thread
      // CPU 2-3 s, 1 s with the markers; bench/README.md). Made once and kept; markercluster shows what is in view.
      function dotOf(e) {
        if (!e.dot) {
          var b = e.bbox, ll = L.latLng((b[1] + b[3]) / 2, (b[0] + b[2]) / 2);
          e.dot = point(e.p, ll, o);
          e.dot.feature = {type: "Feature", properties: e.f.properties, geometry: {type: "Point", coordinates: [ll.lng, ll.lat]}};
          lazy(e, e.dot);
        }
        return e.dot;
      }
      // A shape's layer at band k; null while it has no geometry there (map_data leaves out the first band's
      // of what that band draws as markers; a band file still loading): sync() draws its marker meanwhile.
      function make(e, k) {
        var g = geometry(e, k);
        if (!g) { return null; }
        var f = {type: "Feature", properties: e.p, geometry: g};
        var l = L.GeoJSON.geometryToLayer(f, {style: function () { return style(e); }});
        l.feature = f;
        l.geoplanCoarse = k > 0 && !(parsed[k] && parsed[k] !== "loading");  // drawn from a band before k
        if (renderer) { l.options.renderer = renderer; }
        l.setStyle(style(e));
        bind(e, l);
        return l;
      }
      // Add the shown entries that meet the (padded) view, at the band of the zoom; take away the rest.
      function sync() {
        if (!map) { return; }
        var z = map.getZoom(), view = map.getBounds().pad(0.25), k = band(z), adds = [], drops = [];
        shapes.forEach(function (e) {
          var want = null;
          if (e.on && tiny(e.span, z, o.dot_px)) {
            want = dotOf(e);
          } else if (e.on && view.intersects(e.bounds)) {
            want = e.bands[k] || (e.bands[k] = make(e, k)) || dotOf(e);
            if (want.geoplanCoarse && parsed[k] && parsed[k] !== "loading") { want = e.bands[k] = make(e, k) || dotOf(e); }
          }
          if (want !== e.layer) {
            if (e.layer) { drops.push(e.layer); }
            if (want) { if (want !== e.dot) { want.setStyle(style(e)); } adds.push(want); }
            e.layer = want;
          }
        });
        batch([[group, drops]], false);
        batch([[group, adds]], true);
      }
      syncs.push(sync);
      if (props) { deferred(props, mine); }
      // The group's own add/remove only: its paths' and markers' (sync's own batches, clustering) bubble up to
      // it with themselves as sourceTarget, and once unhooked the layer stopped following the map.
      function own(ev) { return !ev || !ev.sourceTarget || ev.sourceTarget === group; }
      function attach() { map = group._map; map.on("moveend", sync); sync(); }
      group.on("add", function (ev) { if (own(ev)) { attach(); } });
      if (group._map) { attach(); }  // filled after it was added (remote): no "add" is coming
      group.on("remove", function (ev) { if (!own(ev)) { return; } if (map) { map.off("moveend", sync); } map = null; });
      if (o.cluster) { group.addLayers(made); } else { made.forEach(function (l) { group.addLayer(l); }); }
      return group;
    }
    // A banded layer's popup and find-box data (the places' whole properties and their items' text), most
    // of a large page's bytes, kept out of the first draw (bench/README.md): loaded once the page has drawn,
    // or at once when a popup or the find box needs it. Until then each entry has its fids (view, links).
    function deferred(src, mine) {
      var started = false;
      function arrive(list) {
        mine.forEach(function (e, i) {
          var p = list[i], keep = {};
          e.shown.forEach(function (it) { keep[it.fid] = 1; });
          e.p = p; e.items = p.items || [];
          e.shown = e.items.filter(function (it) { return keep[it.fid]; });
          e.pending = null;
          if (e.layer && e.layer.isPopupOpen && e.layer.isPopupOpen()) { e.layer.getPopup().update(); }
        });
        if (state.query) { apply(state.map, true); }
        if (searchBox) { searchBox.update(); }
      }
      function load() {
        if (started) { return; }
        started = true;
        if (src.src) {
          arrivals[src.id] = arrive;
          var tag = document.createElement("script");
          tag.src = src.src;
          document.head.appendChild(tag);
        } else {
          arrive(typeof src === "string" ? JSON.parse(document.getElementById(src).textContent) : src);
        }
      }
      mine.forEach(function (e) { e.pending = load; });
      loaders.push(load);
      afterDraw(load);
    }
    // After the page's load event and the two frames that follow it (the first holds the map; a script
    // added before the load event would delay that event, one added in the first frame the second frame).
    function afterDraw(fn) {
      if (typeof window === "undefined" || !window.addEventListener) { return; }  // node: on demand only
      var frame = window.requestAnimationFrame || setTimeout;
      var go = function () { frame(function () { frame(function () { setTimeout(fn, 0); }); }); };
      if (document.readyState === "complete") { go(); } else { window.addEventListener("load", go); }
    }
    // The app's large layers: the data (maps.layers_json) is served once as a file (a rerun re-sent it inside
    // the map's script: 4.45 MB at 10k features, bench/README.md) and fetched here, one request per URL.
    // The group exists at once (the layer control and the page's script refer to it); the features come
    // with the data, and the last view asked for is applied again then.
    function remote(src, o) {
      var group = clusterGroup(o);
      waiting += 1;
      if (!fetches[src.url]) {
        fetches[src.url] = fetch(src.url).then(function (r) {
          if (!r.ok) { throw new Error(src.url + ": HTTP " + r.status); }
          return r.json();
        });
      }
      fetches[src.url].then(function (doc) {  // maps.layers_json: the layers, their bands and properties
        layer(doc.layers[src.i], o, (doc.bands || [])[src.i] || null, (doc.props || [])[src.i] || null, group);
      }).catch(function (err) {
        if (typeof console !== "undefined") { console.error("geoplan: layer data not loaded", err); }
      }).then(function () {
        waiting -= 1;
        if (!waiting && queued) { var q = queued; queued = null; state.key = undefined; view(q[0], q[1]); }
      });
      return group;
    }
    // The words of the map in the other language, without rebuilding it: each layer's options carry both
    // (o.i18n), popups are made when opened, and the page's fixed texts are in both languages, one hidden
    // by the map container's data-gp-lang (geoplan.css). The language comes with the app's view.
    function setLang(map, lang) {
      if (!lang || lang === state.lang) { return; }
      state.lang = lang;
      options.forEach(function (o) {
        var w = o.i18n && o.i18n[lang];
        if (w) { o.lang = lang; o.labels = w.labels; o.status_labels = w.status_labels; }
      });
      if (map && map.getContainer) {
        map.getContainer().setAttribute("data-gp-lang", lang);
        if (map.eachLayer) {
          map.eachLayer(function (l) { if (l.isPopupOpen && l.isPopupOpen()) { l.getPopup().update(); } });
        }
      }
      if (searchBox && searchBox.lang) { searchBox.lang(lang); }
      if (typeof window !== "undefined" && window.geoplanUI && window.geoplanUI.lang) { window.geoplanUI.lang(lang); }
    }
    function batch(lists, add) {
      lists.forEach(function (pair) {
        var g = pair[0], ls = pair[1];
        if (g.addLayers) { if (add) { g.addLayers(ls); } else { g.removeLayers(ls); } }
        else { ls.forEach(function (l) { if (add) { g.addLayer(l); } else { g.removeLayer(l); } }); }
      });
    }
    function restyle(e) { if (e && e.layer && e.layer.setStyle) { e.layer.setStyle(style(e)); } }
    function where(l) { return l.getLatLng ? l.getLatLng() : l.getBounds().getCenter(); }
    // Show only the items whose fid is in v.fids (all when null), highlight v.selected, and fit the map to
    // what is shown when the set changed. The map and its layers stay; only visibility changes.
    function matches(e, it, q) {
      // The district too (万柏林 finds every place in 万柏林区): residents look for their own.
      return (e.p.name || "").toLowerCase().indexOf(q) >= 0 ||
             [it.text, it.matched, it.section, e.p.district, e.p.district_en].some(function (s) {
        return s && String(s).toLowerCase().indexOf(q) >= 0; });
    }
    // Show the items in state.fids (all when null) that match state.query, add and remove layers in
    // batches, and fit the map to what is shown when ``fit``.
    function apply(map, fit) {
      var want = state.fids, q = state.query, adds = new Map(), drops = new Map();
      entries.forEach(function (e) {
        e.shown = e.items.filter(function (it) { return (!want || want[it.fid]) && (!q || matches(e, it, q)); });
        var on = e.shown.length > 0, into = on ? adds : drops;
        if (e.bbox) { e.on = on; return; }  // drawn lazily: sync() below adds and takes away
        if (on !== e.on) {
          if (!into.has(e.group)) { into.set(e.group, []); }
          into.get(e.group).push(e.layer);
          e.on = on;
        }
      });
      batch(Array.from(drops), false);
      batch(Array.from(adds), true);
      syncs.forEach(function (sync) { sync(); });
      if (map && fit) {
        var sites = L.latLngBounds([]), areas = L.latLngBounds([]);
        entries.forEach(function (e) {
          if (e.on && !e.group.geoplanOff) {
            (AREA[e.p.precision] ? areas : sites).extend(e.bounds || (e.layer.getBounds ? e.layer.getBounds() : e.layer.getLatLng()));
          }
        });
        var b = sites.isValid() ? sites : areas;  // as map_data's bounds: county areas do not set the view
        if (b.isValid()) { map.fitBounds(b, {padding: [40, 40], maxZoom: 15}); }
      }
    }
    // What the app (or a standalone page's ``selected``) wants shown: v.fids (null = all), v.selected.
    // The map and its layers stay; only visibility changes. The map's own search box narrows it further.
    function view(map, v) {
      state.map = map || state.map;
      setLang(state.map, v.lang);
      if (waiting) { queued = [map, v]; }
      var before = byFid[state.selected], want = null;
      if (v.fids) { want = {}; v.fids.forEach(function (f) { want[f] = 1; }); }
      state.fids = want;
      state.selected = v.selected == null ? null : v.selected;
      var sel = byFid[state.selected], changed = fromServer(v);
      apply(map, !sel && (changed || (v.key !== state.key && (state.key !== undefined || want))));
      restyle(before);
      restyle(sel);
      // Out of view, so not built, or a dot in a cluster (becomes its shape when zoomed to): go there first.
      if (sel && sel.on && sel.bounds && map && (!sel.layer || sel.layer === sel.dot)) {
        map.once("moveend", function () { if (sel.layer) { sel.layer.openPopup(where(sel.layer)); } });
        setTimeout(function () { map.fitBounds(sel.bounds, {padding: [40, 40], maxZoom: 15}); }, 50);
      } else if (sel && sel.on) {
        var reveal = function () { if (sel.group.zoomToShowLayer) { sel.group.zoomToShowLayer(sel.layer, function () {
          sel.layer.openPopup(where(sel.layer)); }); } else { sel.layer.openPopup(where(sel.layer)); } };
        setTimeout(reveal, 50);  // after the app's own setView
      }
      state.key = v.key;
      if (searchBox) { searchBox.update(); }
      return counts().shapes;
    }
    function open(fid) {
      var e = byFid[fid];
      if (e && e.on && e.layer && !e.group.geoplanOff) { e.layer.openPopup(where(e.layer)); }
    }
    // The map's own filter, answered in the browser without a round trip: items whose sentence, place or
    // section holds the words typed, within what the app's sidebar (view) shows.
    var searchBox = null;
    // ``i18n`` (optional): {lang: labels} for a map that switches language (setLang).
    function search(map, labels, i18n) {
      var c = L.control({position: "topleft"}), words = (i18n && state.lang && i18n[state.lang]) || labels;
      c.onAdd = function () {
        var d = L.DomUtil.create("div", "gp-search"), input = L.DomUtil.create("input", "", d), timer = null;
        var count = L.DomUtil.create("span", "gp-search-n", d);
        input.type = "search"; input.placeholder = words.search; input.setAttribute("aria-label", words.search);
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
        searchBox = {
          update: function () {
            var c = counts();
            if (link.app) {  // in the app: what the map shows, always (the header counts follow a rerun later)
              count.textContent = (words.shown || "{n} · {p}").replace("{n}", itemCount()).replace("{p}", c.shapes);
            } else {
              count.textContent = state.query ? words.found.replace("{n}", c.items) : "";
            }
          },
          text: function (q) { input.value = q; },
          lang: function (lang) {
            words = (i18n && i18n[lang]) || words;
            input.placeholder = words.search; input.setAttribute("aria-label", words.search);
            searchBox.update();
          }
        };
        state.map = state.map || map;
        L.DomEvent.on(input, "input", function () {
          loaders.forEach(function (load) { load(); });  // the items' text, if it has not come yet
          link.typing = true;  // a view meanwhile must not overwrite what is being typed
          clearTimeout(timer);
          timer = setTimeout(function () {
            state.raw = input.value.trim();
            state.query = state.raw.toLowerCase();
            apply(map, true);
            searchBox.update();
            clearTimeout(link.qtimer);
            link.qtimer = setTimeout(function () { link.typing = false; send(); }, 400);  // the app's search text follows once typing rests
          }, 100);
        });
        return d;
      };
      c.addTo(map);
      return c;
    }
    // What the map shows: places (shapes) and their items' features (items). A layer the layer control
    // took away shows nothing.
    function counts() {
      var n = 0, items = 0;
      entries.forEach(function (e) { if (e.on && !e.group.geoplanOff) { n += 1; items += e.shown.length; } });
      return {shapes: n, items: items};
    }
    // The distinct items the map shows: the header's unit (a banded layer's items have their fid only until
    // their text has come, and count by it meanwhile).
    function itemCount() {
      var ids = {}, k = 0;
      entries.forEach(function (e) {
        if (!e.on || e.group.geoplanOff) { return; }
        e.shown.forEach(function (it) { var id = it.item_id || it.fid; if (!ids[id]) { ids[id] = 1; k += 1; } });
      });
      return k;
    }
    // ---- The app's two-way filter (issue 13). The map's layer control and find box filter the map at once,
    // here; then the new state is posted to Streamlit as the component's value (streamlit-component-lib's
    // message, merged with what streamlit-folium last sent), and the app's sidebar, counts, table and URL
    // follow in a fragment rerun. The view the app sends back carries the state it applied (domains, q) and
    // the last post's seq: a view older than the map's newest post is not applied to the controls (the
    // map's own state is newer), and a view equal to what the map shows changes nothing and posts nothing.
    function watch(group, domain) {
      domainGroups.push({domain: domain, group: group});
      if (!group.on) { return; }
      group.on("add remove", function (ev) {
        // Only the group's own: its markers' and paths' "add"/"remove" (clustering, a banded layer's sync)
        // bubble up to it too, with the marker as sourceTarget.
        if (ev.sourceTarget && ev.sourceTarget !== group) { return; }
        group.geoplanOff = ev.type === "remove";
        ticked();
      });
    }
    function ticked() {
      if (link.applying) { return; }
      if (searchBox) { searchBox.update(); }
      clearTimeout(link.timer);
      link.timer = setTimeout(send, 0);  // one post for the changes of one click
    }
    // The domains ticked: null when every layer is (the app's "all"), else their names in layer order.
    function chosen() {
      var on = domainGroups.filter(function (d) { return !d.group.geoplanOff; }).map(function (d) { return d.domain; });
      return on.length === domainGroups.length ? null : on;
    }
    function normal(domains) {  // a view's domains as chosen() would say them: only the map's, all = null
      if (!domains || !domains.length) { return null; }
      var on = domainGroups.filter(function (d) { return domains.indexOf(d.domain) >= 0; }).map(function (d) { return d.domain; });
      return on.length === domainGroups.length ? null : on;
    }
    function same(a, b) {
      return !!a && !!b && a.q === b.q && (a.domains === null ? b.domains === null
        : b.domains !== null && a.domains.join("\n") === b.domains.join("\n"));
    }
    function send() {
      var now = {domains: chosen(), q: state.raw};
      if (!link.app || !connected() || link.known === null || same(now, link.known)) { return false; }
      if (now.domains && !now.domains.length) { return false; }  // none ticked: "no domain" is no sidebar state
      link.seq += 1;
      link.known = now;
      link.post({domains: now.domains, q: now.q, seq: link.seq});
      return true;
    }
    function connected() {
      if (!link.post && typeof window !== "undefined" && window.__GLOBAL_DATA__ && window.parent && window.parent !== window) {
        link.post = function (value) {  // as streamlit-component-lib's Streamlit.setComponentValue posts it
          var merged = Object.assign({}, window.__GLOBAL_DATA__.previous_data || {}, {geoplan: value});
          window.parent.postMessage({isStreamlitMessage: true, type: "streamlit:setComponentValue", value: merged,
                                     dataType: "json"}, "*");
        };
      }
      return !!link.post;
    }
    // A view from the app: set the layer control's ticks and the find box to the state it applied, unless
    // the map has posted a newer one since. True when that changed what the map shows.
    function fromServer(v) {
      if (v.seq === undefined) { return false; }  // a standalone page: its layer control is its own
      link.app = true;
      if (v.seq < link.seq || link.typing) { return false; }
      link.seq = v.seq;
      var want = {domains: normal(v.domains), q: (v.q || "").trim()}, map = state.map;
      link.known = want;
      if (same(want, {domains: chosen(), q: state.raw})) { return false; }
      link.applying = true;
      try {
        domainGroups.forEach(function (d) {
          var on = !want.domains || want.domains.indexOf(d.domain) >= 0, has = map && map.hasLayer(d.group);
          if (map && on && !has) { map.addLayer(d.group); } else if (map && !on && has) { map.removeLayer(d.group); }
          if (map) { d.group.geoplanOff = !on; }
        });
      } finally { link.applying = false; }
      if (want.q !== state.raw) {
        state.raw = want.q;
        state.query = want.q.toLowerCase();
        if (want.q) { loaders.forEach(function (load) { load(); }); }
        if (searchBox) { searchBox.text(want.q); }
      }
      return true;
    }
    // Tests (and a page that wants the posts): fn(value) receives each {domains, q, seq}.
    function connect(fn) { link.post = fn; }
    // A data file's band has come (see banded): hand it to the layer that asked for it.
    function band(id, data) { var f = arrivals[id]; delete arrivals[id]; if (f) { f(data); } }
    return {esc: esc, layer: layer, band: band, span: span, tiny: tiny, lang: function () { return state.lang; }, setLang: setLang,
            popup: popup, tooltip: tooltip, view: view, open: open, counts: counts, search: search,
            connect: connect, chosen: chosen, itemCount: itemCount,
            entries: entries, byFid: byFid};
  }

  if (typeof window !== "undefined") { window.geoplan = window.geoplan || create(); }
  if (typeof module !== "undefined" && module.exports) { module.exports = {create: create, esc: esc}; }
})();
