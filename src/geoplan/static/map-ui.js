// geoplan map on any screen (see map_ui.py): called once per map, after its controls exist.
window.geoplanUI = window.geoplanUI || (function () {
  var ZH_DRAW = {
    draw: {
      toolbar: {
        actions: {title: "取消绘制", text: "取消"}, finish: {title: "完成绘制", text: "完成"},
        undo: {title: "删除最后一个点", text: "删除最后一个点"},
        buttons: {polyline: "画线", polygon: "画面", rectangle: "画矩形", circle: "画圆",
                  marker: "放置标记", circlemarker: "放置圆点"}
      },
      handlers: {
        circle: {tooltip: {start: "按住并拖动画圆"}, radius: "半径"},
        circlemarker: {tooltip: {start: "点击地图放置圆点"}},
        marker: {tooltip: {start: "点击地图放置标记"}},
        polygon: {tooltip: {start: "点击开始画面", cont: "点击继续画面", end: "点击第一个点闭合此面"}},
        polyline: {error: "<strong>错误：</strong>线段不能相交！",
                   tooltip: {start: "点击开始画线", cont: "点击继续画线", end: "点击最后一个点完成"}},
        rectangle: {tooltip: {start: "按住并拖动画矩形"}},
        simpleshape: {tooltip: {end: "松开鼠标完成绘制"}}
      }
    },
    edit: {
      toolbar: {
        actions: {save: {title: "保存修改", text: "保存"}, cancel: {title: "取消编辑", text: "取消"},
                  clearAll: {title: "清除全部", text: "清除全部"}},
        buttons: {edit: "编辑图形", editDisabled: "没有可编辑的图形", remove: "删除图形",
                  removeDisabled: "没有可删除的图形"}
      },
      handlers: {
        edit: {tooltip: {text: "拖动控制点或标记以编辑", subtext: "点击取消以撤销修改"}},
        remove: {tooltip: {text: "点击要删除的图形"}}
      }
    }
  };
  function merge(into, from) {
    Object.keys(from).forEach(function (k) {
      if (from[k] && typeof from[k] === "object" && into[k] && typeof into[k] === "object") { merge(into[k], from[k]); }
      else { into[k] = from[k]; }
    });
  }
  // Before the draw toolbar is built: Leaflet.draw reads its words from L.drawLocal.
  function locale(lang) {
    if (lang === "zh" && L.drawLocal) { merge(L.drawLocal, ZH_DRAW); }
  }
  // "Near me": the browser's position and its accuracy circle; a refusal is answered politely, in words.
  // ``i18n`` (optional): {lang: words}, for a map that switches language (lang()).
  function locate(map, words, i18n) {
    var c = L.control({position: "topleft"}), me = null, ring = null, button, note;
    c.onAdd = function () {
      var d = L.DomUtil.create("div", "leaflet-bar gp-locate");
      button = L.DomUtil.create("a", "", d);
      button.href = "#"; button.title = words.locate; button.textContent = "◎";
      button.setAttribute("role", "button"); button.setAttribute("aria-label", words.locate);
      note = L.DomUtil.create("div", "gp-locate-note", d); note.hidden = true;
      L.DomEvent.disableClickPropagation(d);
      relabel.push(function (lang) {
        words = (i18n && i18n[lang]) || words;
        button.title = words.locate; button.setAttribute("aria-label", words.locate);
      });
      L.DomEvent.on(button, "click", function (e) {
        L.DomEvent.preventDefault(e);
        note.hidden = true; button.classList.add("gp-busy");
        map.locate({setView: true, maxZoom: 15, enableHighAccuracy: true, timeout: 15000});
      });
      return d;
    };
    c.addTo(map);
    map.on("locationfound", function (e) {
      button.classList.remove("gp-busy");
      if (!me) {
        ring = L.circle(e.latlng, {radius: e.accuracy, color: "#1a73e8", weight: 1, fillOpacity: 0.1, interactive: false,
                                   className: "gp-me-accuracy"}).addTo(map);
        me = L.circleMarker(e.latlng, {radius: 7, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1,
                                       className: "gp-me"}).addTo(map);
      }
      ring.setLatLng(e.latlng).setRadius(e.accuracy);
      me.setLatLng(e.latlng).bindTooltip(words.here.replace("{m}", Math.round(e.accuracy)));
    });
    map.on("locationerror", function (e) {
      button.classList.remove("gp-busy");
      note.textContent = e.code === 1 ? words.denied : words.failed;
      note.hidden = false;
    });
    return c;
  }
  // District names at each unit's representative point, from zoom ``minZoom`` on, while the boundaries show.
  function districtLabels(map, layer, points, minZoom) {
    var group = L.layerGroup(points.map(function (p) {
      return L.tooltip({permanent: true, direction: "center", className: "gp-district-label", interactive: false})
        .setLatLng([p[1], p[0]]).setContent(p[2]);  // p[2] is escaped HTML (maps.html_label)
    }));
    function sync() {
      var on = map.hasLayer(layer) && map.getZoom() >= minZoom;
      if (on && !map.hasLayer(group)) { group.addTo(map); } else if (!on && map.hasLayer(group)) { map.removeLayer(group); }
    }
    map.on("zoomend overlayadd overlayremove", sync);
    // Placed again after the map is resized or moved: in the app the iframe resizes the map after the labels
    // were placed, which left them hundreds of pixels off their districts.
    map.on("resize moveend viewreset", function () {
      if (map.hasLayer(group)) { group.eachLayer(function (t) { t.update(); }); }
    });
    map.whenReady(sync);
    return group;
  }
  // Inside the app: the view (lat, lon, z) and the open popup's item (sel) go into the page's URL as they
  // change, so a copied link opens the same view; no rerun (the app reads them on its next one).
  function shareView(map) {
    var top = window.parent;
    try { if (top === window || !top.history || !top.location.href) { return; } } catch (err) { return; }
    function write(changes) {
      try {
        var u = new URL(top.location.href);
        Object.keys(changes).forEach(function (k) {
          if (changes[k] == null) { u.searchParams.delete(k); } else { u.searchParams.set(k, changes[k]); }
        });
        if (u.href !== top.location.href) { top.history.replaceState(top.history.state, "", u.href); }
      } catch (err) { /* another origin: the link keeps the filters only */ }
    }
    map.on("moveend", function () {
      var c = map.getCenter();
      write({lat: c.lat.toFixed(5), lon: c.lng.toFixed(5), z: String(map.getZoom())});
    });
    map.on("popupopen", function (e) {
      var f = e.popup._source && e.popup._source.feature, items = f && f.properties && f.properties.items;
      if (items && items.length) { write({sel: items[0].fid}); }
    });
    map.on("popupclose", function (e) {
      if (e.popup._source && e.popup._source.feature) { write({sel: null}); }
    });
  }
  // Hovering a list entry (any element with data-gp-fid: the site's list, and in the app the page around the
  // map's frame) highlights its feature: a thicker amber outline, or a ring on its marker or its cluster.
  function highlighter(map) {
    var current = null;
    function off() {
      if (!current) { return; }
      var c = current;
      current = null;
      if (c.saved) { c.layer.setStyle(c.saved); }
      if (c.el) { c.el.classList.remove("gp-hover"); }
    }
    function on(fid) {
      off();
      var g = window.geoplan, e = g && g.byFid && g.byFid[fid];
      // A line or area out of view is not built; a domain unticked in the layer control is not on the map.
      if (!e || !e.on || !e.layer || e.group.geoplanOff) { return false; }
      var l = e.layer, c = {layer: l, fid: fid};
      if (l.setStyle) {
        c.saved = {weight: l.options.weight, color: l.options.color, opacity: l.options.opacity};
        l.setStyle({weight: (l.options.weight || 2) + 4, color: "#ff8f00", opacity: 1});
        if (l.bringToFront && map.hasLayer(l)) { l.bringToFront(); }
      } else {
        var shown = e.group.getVisibleParent ? e.group.getVisibleParent(l) : l;
        c.el = (shown && shown._icon) || l._icon || null;
        if (c.el) { c.el.classList.add("gp-hover"); }
      }
      current = c;
      return true;
    }
    return {on: on, off: off, current: function () { return current && current.fid; }};
  }
  function hoverList(doc, h) {
    function entry(ev) { return ev.target && ev.target.closest ? ev.target.closest("[data-gp-fid]") : null; }
    function enter(ev) { var t = entry(ev); if (t) { h.on(t.getAttribute("data-gp-fid")); } }
    function leave(ev) {
      var t = entry(ev), to = ev.relatedTarget;
      if (t && !(to && t.contains && t.contains(to))) { h.off(); }
    }
    doc.addEventListener("mouseover", enter);
    doc.addEventListener("focusin", enter);
    doc.addEventListener("mouseout", leave);
    doc.addEventListener("focusout", leave);
  }
  var hl = null, relabel = [];
  function wide(map, w, h) { var s = map.getSize(); return s.x >= w && s.y >= h; }
  function setup(map, o) {
    if (document.getElementById("map_div") && map.getContainer().id === "map_div") {
      document.body.classList.add("gp-fill");  // inside streamlit-folium: the iframe sets the size
      map.invalidateSize();
      shareView(map);
      try { hoverList(window.parent.document, hl = hl || highlighter(map)); } catch (err) { /* another origin */ }
    }
    hoverList(document, hl = hl || highlighter(map));
    if (o.locate) { locate(map, o.locate, o.locateI18n); }
    var legend = map.getContainer().querySelector("details.gp-legend");
    if (legend && wide(map, o.legendOpen[0], o.legendOpen[1])) { legend.open = true; }
    map.on("popupopen", function (e) {
      var p = e.popup, s = map.getSize(), w = Math.max(180, Math.min(o.popupWidth, s.x - 90));  // content; the frame adds ~46 px
      map.getContainer().classList.add("gp-popup-open");
      p.options.maxWidth = w;
      p.options.minWidth = Math.min(p.options.minWidth || 50, w);
      p.options.maxHeight = Math.max(160, s.y - 90);
      p.options.autoPan = true;
      p.options.autoPanPaddingTopLeft = L.point(8, 8);
      p.options.autoPanPaddingBottomRight = L.point(8, 24);  // above the attribution
      p.update();
    });
    map.on("popupclose", function () { map.getContainer().classList.remove("gp-popup-open"); });
  }
  return {locale: locale, setup: setup, districtLabels: districtLabels,
          lang: function (lang) { relabel.forEach(function (f) { f(lang); }); },
          highlight: function (fid) { return hl ? hl.on(fid) : false; },
          unhighlight: function () { if (hl) { hl.off(); } }};
})();
