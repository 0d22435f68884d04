"""Serve every script, style sheet and image of geoplan's folium maps from geoplan itself.

folium writes ``<script src>``/``<link href>`` tags that point at public CDNs, which many users in
mainland China cannot reach. geoplan's maps load seven of them (Leaflet, Leaflet.markercluster and
Leaflet.draw, at the versions folium pins); ``scripts/vendor_assets.py`` copies those files, and the
images their style sheets load, from the npm tarballs into :data:`VENDOR_DIR`, with their licences and
``assets.json``, the table ``{cdn url: file, package, version, licence, sha256}``. :func:`localize`
rewrites a map to use them. Only map tiles stay remote.

Two modes:

``"static"`` — for the Streamlit app and the published site. Every asset URL becomes
``<static_url>/<file>``; Streamlit serves the files with ``server.enableStaticServing = true`` from the
``static/`` folder next to the app script (``static`` is a symlink to ``src/geoplan/static``, so the
vendor folder appears at ``/app/static/vendor/``). streamlit-folium does not bundle Leaflet: its
component page (``/component/streamlit_folium.st_folium/index.html``) loads the map's
``default_js``/``default_css`` URLs itself, *relative to that page*. So a ``static_url`` without a
leading ``/``, ``./``, ``../`` or a scheme is taken as relative to the app root and written as
``../../<static_url>``, which reaches ``<app root>/app/static/vendor/…`` from the component page, also
under ``server.baseUrlPath``. Pass ``"/app/static/vendor"`` or a full URL to have it used verbatim.

``"inline"`` — for a standalone HTML file (``geoplan map -o map.html``). Scripts and style sheets are
written into the page as ``<script>``/``<style>`` elements; the images their CSS refers to become
``data:`` URIs (the elements' ``default_js``/``default_css`` become ``data:`` URLs too, so even a
consumer that reads those lists, such as streamlit-folium, stays offline).

geoplan's own script and style sheet (``static/geoplan.js``, ``geoplan.css``; an element lists them in
``static_files``) are linked and inlined the same way, from ``static/`` beside ``vendor/``.

Call :func:`localize` last, after every layer and plugin has been added. Links that plugins add to the
page later are still rewritten while rendering (the figure's header is replaced by one that localizes
whatever is added to it), but streamlit-folium reads ``default_js``/``default_css`` straight from the
elements. A CDN URL with no vendored copy raises :class:`OfflineAssetError` naming the URL: that is the
signal to add it to ``ASSETS`` in ``scripts/vendor_assets.py``. :func:`assert_no_cdn` checks rendered
HTML and raises if any script, style sheet or font would still come from the network.

A branca colour map is refused that way (its d3 is not vendored); draw legends as HTML: streamlit-folium
adds d3 from two CDNs for every colour map whatever the map says, so vendoring it would not be enough.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html as html_lib
import json
import posixpath
import re
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from geoplan import _folium  # noqa: F401  (first: folium's templates then compile when used)
import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.template import Template
from markupsafe import Markup

from geoplan.errors import OfflineAssetError

__all__ = [
    "TABLE_PATH",
    "VENDOR_DIR",
    "OfflineAssetError",
    "assert_no_cdn",
    "asset_table",
    "find_cdn_references",
    "localize",
    "vendored_file",
    "verify_vendor",
]

VENDOR_DIR: Path = Path(__file__).resolve().parent / "static" / "vendor"
TABLE_PATH: Path = VENDOR_DIR / "assets.json"

Mode = Literal["static", "inline"]

# Hosts folium, branca and their plugins load code from.  Any reference to
# them left in a page is an error, wherever it appears (tile templates aside).
CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "fastly.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "unpkg.com",
    "code.jquery.com",
    "netdna.bootstrapcdn.com",
    "maxcdn.bootstrapcdn.com",
    "stackpath.bootstrapcdn.com",
    "d3js.org",
    "ajax.googleapis.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "use.fontawesome.com",
    "kit.fontawesome.com",
    "teastman.github.io",
    "rawgit.com",
    "cdn.rawgit.com",
    "rawcdn.githack.com",
    "esm.sh",
    "cdn.skypack.dev",
)

_MIME = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


# --------------------------------------------------------------------------- the table


@functools.lru_cache(maxsize=1)
def asset_table() -> dict[str, dict[str, Any]]:
    """CDN URL -> its record in assets.json (``file`` below VENDOR_DIR, package, version, licence, sha256)."""
    try:
        doc = json.loads(TABLE_PATH.read_text("utf-8"))
    except FileNotFoundError:
        msg = f"{TABLE_PATH} is missing: run scripts/vendor_assets.py (or reinstall geoplan)"
        raise OfflineAssetError(msg) from None
    assets: dict[str, dict[str, Any]] = doc["assets"]
    return assets


# geoplan's own browser files, in static/ beside vendor/: the map script and style sheet. They are served
# and inlined exactly as the vendored files, by their path relative to VENDOR_DIR.
OWN_FILES: tuple[str, ...] = ("../supercluster.min.js", "../geoplan.js", "../geoplan.css")


@functools.lru_cache(maxsize=1)
def _files() -> frozenset[str]:
    """Every file localize() may link or inline, relative to VENDOR_DIR (geoplan's own files included)."""
    return frozenset([*OWN_FILES, *(rec["file"] for rec in asset_table().values())])


@functools.lru_cache(maxsize=1)
def _cdn_map() -> dict[str, str]:
    """Normalized CDN URL -> vendored file path."""
    return {_normalize(url): rec["file"] for url, rec in asset_table().items()}


def _normalize(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    elif url.lower().startswith("http://"):
        url = "https://" + url[7:]
    return url


def _is_remote(url: str) -> bool:
    return bool(re.match(r"^\s*(?:https?:)?//", url, re.IGNORECASE))


def vendored_file(url: str) -> Path | None:
    """The vendored file that replaces a CDN URL, or None."""
    rel = _cdn_map().get(_normalize(url))
    return VENDOR_DIR / rel if rel else None


def verify_vendor() -> None:
    """Raise OfflineAssetError unless every file in the table exists with its sha256 (a damaged install)."""
    bad = []
    for rec in asset_table().values():
        path = VENDOR_DIR / rec["file"]
        if not path.is_file():
            bad.append(f"{rec['file']}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != rec["sha256"]:
            bad.append(f"{rec['file']}: sha256 differs from assets.json")
    if bad:
        raise OfflineAssetError("vendored assets damaged:\n  " + "\n  ".join(bad))


# --------------------------------------------------------------------------- file contents


@functools.cache
def _bytes(rel: str) -> bytes:
    if rel not in _files():
        raise OfflineAssetError(f"{rel} is not a vendored file")
    return (VENDOR_DIR / rel).read_bytes()


def _mime(rel: str) -> str:
    return _MIME.get(posixpath.splitext(rel)[1].lower(), "application/octet-stream")


@functools.cache
def _data_uri(rel: str) -> str:
    if rel.endswith(".css"):
        payload = _css_text(rel).encode("utf-8")
    elif rel.endswith(".js"):
        payload = _js_text(rel).encode("utf-8")
    else:
        payload = _bytes(rel)
    return f"data:{_mime(rel)};base64,{base64.b64encode(payload).decode('ascii')}"


@functools.cache
def _js_text(rel: str) -> str:
    """Script text safe to put between <script> and </script>."""
    js = _bytes(rel).decode("utf-8")
    js = re.sub(r"^[ \t]*//[#@][ \t]*sourceMappingURL=\S*[ \t]*$", "", js, flags=re.MULTILINE)
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.IGNORECASE)


@functools.cache
def _css_text(rel: str) -> str:
    """Style sheet text with every url(...) it needs turned into a data: URI."""
    css = _bytes(rel).decode("utf-8")
    css = re.sub(r"/\*#\s*sourceMappingURL=[^*]*\*/", "", css)

    def embed(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if not ref or ref.startswith(("data:", "#")):
            return m.group(0)
        if _is_remote(ref) or re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.IGNORECASE):
            raise OfflineAssetError(f"vendored {rel} refers to {ref}, which is not vendored")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), re.split(r"[?#]", ref)[0]))
        if target not in _files():
            raise OfflineAssetError(f"vendored {rel} refers to {ref} ({target}), which is not vendored")
        return f'url("{_data_uri(target)}")'

    css = _CSS_URL.sub(embed, css)
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


# --------------------------------------------------------------------------- rewriting

# Every URL localize() has written -> the vendored file it stands for, so a map
# can be localized again (say, first static, then inline).
_EMITTED: dict[str, str] = {}


class _Localizer:
    def __init__(self, mode: Mode, static_url: str) -> None:
        if mode not in ("static", "inline"):
            raise ValueError(f"mode must be 'static' or 'inline', not {mode!r}")
        self.mode = mode
        self.base = _static_base(static_url)

    def vendored(self, url: str) -> str | None:
        return _EMITTED.get(url) or _cdn_map().get(_normalize(url))

    def url(self, url: str) -> str:
        """The URL to use instead of url (url itself if it is neither remote nor ours)."""
        rel = self.vendored(url)
        if rel is None:
            if _is_remote(url):
                raise OfflineAssetError(
                    f"{url} has no vendored copy, so the map would load it from the internet; "
                    "add it to ASSETS in scripts/vendor_assets.py and rerun it"
                )
            return url
        return self.own(rel)

    def own(self, rel: str) -> str:
        """The URL of vendored (or geoplan's own) file ``rel`` in this mode."""
        new = _join(self.base, rel) if self.mode == "static" else _data_uri(rel)
        _EMITTED[new] = rel
        return new

    def header_element(self, child: Element) -> Element:
        if isinstance(child, _InlineAsset):
            if self.mode == "inline":
                return child
            url = f"{self.base}/{child.rel}"
            _EMITTED[url] = child.rel
            return JavascriptLink(url) if child.rel.endswith(".js") else CssLink(url)
        if not isinstance(child, (JavascriptLink, CssLink)):
            return child
        rel = self.vendored(child.url)
        if rel is not None and self.mode == "inline":
            return _InlineAsset(rel)
        new = self.url(child.url)
        if new == child.url:
            return child
        return JavascriptLink(new) if isinstance(child, JavascriptLink) else CssLink(new)


def _join(base: str, rel: str) -> str:
    """``base/rel`` with rel's leading ``../`` taken off base: servers refuse ``..`` in a path (Streamlit: 400)."""
    while rel.startswith("../") and "/" in base and base.rsplit("/", 1)[1] not in ("", ".", ".."):
        base, rel = base.rsplit("/", 1)[0], rel[3:]
    return f"{base}/{rel}"


def _static_base(static_url: str) -> str:
    base = static_url.strip().rstrip("/")
    if not base:
        raise ValueError("static_url must not be empty")
    if re.match(r"^(?:[a-z][a-z0-9+.-]*:|/|\./|\.\./)", base, re.IGNORECASE):
        return base
    # App-root relative: st_folium's component page is /component/<name>/index.html.
    return "../../" + base


class _InlineAsset(Element):
    """A vendored script or style sheet written into the page."""

    def __init__(self, rel: str) -> None:
        super().__init__()
        self.rel = rel
        self._name = "InlineScript" if rel.endswith(".js") else "InlineStyle"

    def render(self, **kwargs: Any) -> str:
        if self.rel.endswith(".js"):
            return Markup(f'<script data-vendored="{self.rel}">\n{_js_text(self.rel)}\n</script>')
        return Markup(f'<style data-vendored="{self.rel}">\n{_css_text(self.rel)}\n</style>')


class _OfflineHeader(Element):
    """A figure header that localizes every script/style link added to it."""

    def __init__(self, localizer: _Localizer) -> None:
        super().__init__()
        self._localizer = localizer

    def add_child(self, child: Element, name: str | None = None, index: int | None = None) -> Element:
        return super().add_child(self._localizer.header_element(child), name=name, index=index)


def _install_header(root: Figure, loc: _Localizer) -> None:
    old = root.header
    items = list(old._children.items())
    if isinstance(old, _OfflineHeader):
        header = old
        header._localizer = loc
        header._children = OrderedDict()
    else:
        header = _OfflineHeader(loc)
        header._parent = root
        root.header = header
    for name, child in items:
        header.add_child(child, name=name)


class _DefaultIconImages(MacroElement):
    """Tell Leaflet where its default marker images are.

    Leaflet finds them by reading leaflet.css' background-image; streamlit-folium
    may run the map before that style sheet has loaded (it then builds a wrong
    path), and an inlined style sheet holds data: URIs Leaflet cannot parse.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.js }}
        {% endmacro %}
        """
    )

    def __init__(self, js: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement.__init__ has no hints
        self._name = "DefaultIconImages"
        self.js = js


def _icon_js(loc: _Localizer) -> str:
    if loc.mode == "static":
        base = json.dumps(f"{loc.base}/leaflet/images/")
        return f"L.Icon.Default.imagePath = new URL({base}, document.baseURI).href;"
    opts = {
        "iconUrl": _data_uri("leaflet/images/marker-icon.png"),
        "iconRetinaUrl": _data_uri("leaflet/images/marker-icon-2x.png"),
        "shadowUrl": _data_uri("leaflet/images/marker-shadow.png"),
    }
    return f'L.Icon.Default.imagePath = "";\nL.Icon.Default.mergeOptions({json.dumps(opts)});'


class _OwnAssets(Protocol):
    """An element that lists geoplan's own files (``geoplan.maps.GeoplanAssets``)."""

    static_files: tuple[str, ...]
    default_js: list[tuple[str, str]]
    default_css: list[tuple[str, str]]
    linked: bool


def _walk(el: Element) -> Iterator[Element]:
    yield el
    if isinstance(el, Figure):
        for part in (el.header, el.html, el.script):
            yield from _walk(part)
    for child in list(el._children.values()):
        yield from _walk(child)


def localize(m: folium.Map, *, mode: Mode, static_url: str = "app/static/vendor") -> folium.Map:
    """Point every script/style sheet of map ``m`` (and of all its children) at geoplan's vendored copies.

    ``mode="static"``: URLs under ``static_url`` (see the module docstring for how
    a relative ``static_url`` is resolved); for the Streamlit app with
    ``st_folium``.  ``mode="inline"``: ``<script>``/``<style>`` content in the page,
    images and fonts as ``data:`` URIs; for standalone HTML.

    Call it last, right before rendering.  Returns ``m`` (changed in place).
    Raises :class:`OfflineAssetError` naming the URL if a CDN file has no vendored copy.
    """
    loc = _Localizer(mode, static_url)
    root = m.get_root()
    if not isinstance(root, Figure):
        raise OfflineAssetError("localize() needs a map inside a branca Figure (as folium.Map creates)")

    for el in list(_walk(root)):
        own = getattr(el, "static_files", None)
        if own:  # geoplan.maps.GeoplanAssets: its files are linked (or inlined) as the vendored ones
            assets = cast("_OwnAssets", el)
            assets.default_js = [(name, loc.own(f"../{name}")) for name in own if name.endswith(".js")]
            assets.default_css = [(name, loc.own(f"../{name}")) for name in own if name.endswith(".css")]
            assets.linked = True
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            # An instance attribute: never change folium's class-level lists.
            setattr(el, attr, [(name, loc.url(url)) for name, url in links])
        if isinstance(el, folium.Map):
            el.add_child(_DefaultIconImages(_icon_js(loc)), name="geoplan_default_icon_images", index=0)

    _install_header(root, loc)
    return m


# --------------------------------------------------------------------------- checking


_TILE_TEMPLATE = re.compile(r"\{[a-z]\}")
_SRC_HREF = re.compile(
    r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE
)
_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?([^'\")\s;]+)", re.IGNORECASE)
_ASSET_URL = re.compile(
    r"https?://[^\s'\"<>()\\]+?\.(?:m?js|css|woff2?|ttf|otf|eot)(?:[?#][^\s'\"<>()\\]*)?(?=[\s'\"<>()\\]|$)",
    re.IGNORECASE,
)
_CDN_URL = re.compile(
    r"(?:https?:)?//(?:" + "|".join(re.escape(h) for h in CDN_HOSTS) + r")(?:[/:?#][^\s'\"<>()\\]*)?",
    re.IGNORECASE,
)


def find_cdn_references(html: str) -> list[str]:
    """Every script, style sheet or font reference in ``html`` that would be fetched from the internet.

    Looks at ``<script src>``/``<link href>``, CSS ``url(...)``/``@import``, any
    absolute ``http(s)`` URL of a ``.js``/``.css``/font file anywhere (dynamic
    loaders), and any URL on a known CDN host (CDN_HOSTS).  Tile URL templates
    (``https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png``) and ordinary links
    (``<a href>``, attributions) are allowed.  HTML-escaped documents inside the
    page (``<iframe srcdoc>`` popups) are searched too.
    """
    found: list[str] = []
    for text in dict.fromkeys([html, html_lib.unescape(html)]):
        cands: list[str] = []
        for m in _SRC_HREF.finditer(text):
            url = next(g for g in m.groups() if g is not None)
            if _is_remote(url):
                cands.append(url)
        cands += [m.group(2) for m in _CSS_URL.finditer(text) if _is_remote(m.group(2))]
        cands += [m.group(1) for m in _IMPORT.finditer(text) if _is_remote(m.group(1))]
        cands += [m.group(0) for m in _ASSET_URL.finditer(text)]
        cands += [m.group(0) for m in _CDN_URL.finditer(text)]
        for url in cands:
            url = url.strip()
            if _TILE_TEMPLATE.search(url) or url in found:
                continue
            found.append(url)
    return found


def assert_no_cdn(html: str) -> None:
    """Raise OfflineAssetError if ``html`` would load any script, style sheet or font from the internet."""
    refs = find_cdn_references(html)
    if refs:
        shown = "\n  ".join(refs[:20]) + ("\n  …" if len(refs) > 20 else "")
        raise OfflineAssetError(f"the page still loads {len(refs)} asset(s) from the internet:\n  {shown}")
