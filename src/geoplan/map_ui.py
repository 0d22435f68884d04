"""Map controls that fit any screen: fold the layer list and legend away on small maps, keep popups clear
of the controls and within a phone's width, and give Leaflet.draw Chinese words.

A reviewer at 390×844 found the open layer list and legend covering half the map and popups opening
under them and off the screen's edge. The script and styles live in ``static/map-ui.js`` and
``static/map-ui.css`` and are written into the page (no request, also in standalone pages).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from geoplan import _folium  # noqa: F401  (first: folium's templates then compile when used)
from folium.utilities import JsCode

from geoplan.maps import RawScriptElement, js_json

# A map at least this wide and tall (CSS px) keeps the layer list open; smaller ones fold it into an icon.
LAYERS_OPEN = (900, 560)
# The legend starts open only on a map this large; elsewhere it is one line that opens on a tap.
LEGEND_OPEN = (1200, 800)
POPUP_WIDTH = 380  # content px at most; never wider than the map less 90 px (the frame adds ~46)
# The locate-me button's words; a refusal is the visitor's choice, said without blame.
LOCATE = {
    "zh": {
        "locate": "显示我的位置",
        "here": "您在这里（误差约 {m} 米）",
        "denied": "未获得位置权限，地图不会显示您的位置。如需使用，请在浏览器中允许定位。",
        "failed": "暂时无法获取您的位置，请稍后再试。",
    },
    "en": {
        "locate": "Show my location",
        "here": "You are here (within about {m} m)",
        "denied": "Location permission was not given, so the map cannot show where you are. "
        "You can allow it in your browser's settings.",
        "failed": "Your location is not available right now; please try again later.",
    },
}
STATIC_DIR = Path(__file__).resolve().parent / "static"


@cache
def _asset(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def layers_collapsed() -> JsCode:
    """``collapsed`` for folium's LayerControl, decided in the browser from the map window's size."""
    w, h = LAYERS_OPEN
    return JsCode(f"!(window.innerWidth >= {w} && window.innerHeight >= {h})")


class MapUI(RawScriptElement):
    """Add once, before any Leaflet.draw control: sets the draw words now and the rest once the map is built."""

    def __init__(self, lang: str, *, bilingual: bool = False) -> None:
        super().__init__()
        self._name = "GeoplanUI"
        self.lang = lang
        self.bilingual = bilingual  # the locate words of every language, for geoplanUI.lang

    @property
    def script_text(self) -> str:
        opts: dict[str, Any] = {"legendOpen": LEGEND_OPEN, "popupWidth": POPUP_WIDTH, "locate": LOCATE[self.lang]}
        if self.bilingual:
            opts["locateI18n"] = LOCATE
        m = self.parent_name
        return (
            f"{_asset('map-ui.js')}\ngeoplanUI.locale({js_json(self.lang)});"
            f"setTimeout(function () {{ geoplanUI.setup({m}, {js_json(opts)}); }}, 0);"
        )

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # branca's elements return None too
        from branca.element import Element

        self.page().header.add_child(Element(f"<style>{_asset('map-ui.css')}</style>"), name=self.get_name())
        super().render(**kwargs)
