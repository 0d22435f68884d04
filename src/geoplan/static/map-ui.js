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
  function wide(map, w, h) { var s = map.getSize(); return s.x >= w && s.y >= h; }
  function setup(map, o) {
    if (document.getElementById("map_div") && map.getContainer().id === "map_div") {
      document.body.classList.add("gp-fill");  // inside streamlit-folium: the iframe sets the size
      map.invalidateSize();
    }
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
  return {locale: locale, setup: setup};
})();
