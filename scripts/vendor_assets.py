#!/usr/bin/env python3
"""Vendor every script, style sheet, image and font that geoplan's folium maps load.

folium points its maps at public CDNs, which many users in mainland China
cannot reach.  This script fetches the exact versions folium pins, as npm
packages through the ordinary ``npm`` client (whatever registry npm is
configured to use), and copies just the files a map needs into
``src/geoplan/static/vendor/<package>/`` together with each package's licence.
It then writes ``manifest.json`` beside them: for every package its version
and npm integrity, and for every file its sha256 and the folium CDN URL(s) it
replaces.  ``geoplan.offline`` reads that manifest to rewrite maps.

Usage::

    python scripts/vendor_assets.py           # (re)write the vendor folder
    python scripts/vendor_assets.py --check   # fetch again, compare, write nothing

Needs ``npm`` on PATH and folium importable (it checks that every CDN URL of
``folium.Map`` and of the plugins in SUPPORTED_PLUGINS has a replacement, so a
folium upgrade that bumps a URL fails here instead of silently going online).

A few files are not byte copies; each is marked ``"derived"`` in the manifest:

* ``bootstrap3-glyphicons/css/bootstrap-glyphicons.min.css``: folium loads a
  glyphicons-only style sheet of Bootstrap 3; it is cut out of
  ``bootstrap@3.4.1``'s ``dist/css/bootstrap.css`` (only the ``@font-face`` and
  the ``.glyphicon*`` rules), its font reduced to the woff2 file.
* ``fontawesome-free/css/all.min.css``: ``@font-face`` sources that name a
  font file we do not ship (``.ttf``; every current browser takes the woff2
  listed first) are dropped.
* ``folium/leaflet.awesome.rotate.min.css``: folium's own
  ``templates/leaflet.awesome.rotate.css`` (``.fa-rotate-1`` … ``.fa-rotate-360``)
  is not published on npm; it is generated here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = ROOT / "src" / "geoplan" / "static" / "vendor"
MANIFEST = "manifest.json"

# folium classes whose CDN assets are vendored; localize() raises for others.
SUPPORTED_PLUGINS = (
    "MarkerCluster",
    "FastMarkerCluster",
    "Draw",
    "Fullscreen",
    "LocateControl",
    "MousePosition",
)

# The npm tarballs of leaflet-draw ship no licence file; this is the upstream
# repository's MIT-LICENSE.md (the package.json says "license": "MIT").
LEAFLET_DRAW_LICENSE = """\
Copyright 2012-2016 Jacob Toye and Leaflet

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

JSDELIVR = "https://cdn.jsdelivr.net"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"


class VendorError(RuntimeError):
    pass


Reader = Callable[[str], bytes]  # path inside a package -> bytes


@dataclass
class File:
    src: str  # path inside the npm package (below "package/")
    dest: str  # path below the package's vendor folder
    replaces: tuple[str, ...] = ()  # folium CDN URLs this file stands in for
    derive: Callable[[Reader], bytes] | None = None  # build the bytes instead of copying
    note: str = ""


@dataclass
class Package:
    npm: str  # npm name
    version: str
    folder: str  # folder below VENDOR_DIR
    files: list[File]
    license: str | None  # licence file inside the package
    license_from: tuple[str, str, str] | None = None  # (npm name, version, path) when not inside
    license_text: str | None = None  # when no npm package has it
    note: str = ""
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- derived files


def _glyphicons_css(read: Reader) -> bytes:
    """Cut the Glyphicons rules out of Bootstrap 3's full style sheet."""
    css = read("dist/css/bootstrap.css").decode("utf-8")
    banner = re.match(r"\s*/\*!.*?\*/", css, re.DOTALL)
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    selector_ok = re.compile(r"^\.glyphicon(-[a-z0-9-]+:before)?$")
    rules = []
    for m in re.finditer(r"([^{}]+)\{([^{}]*)\}", body):
        selectors = [s.strip() for s in m.group(1).split(",")]
        if not all(selector_ok.match(s) for s in selectors):
            continue
        decls = ";".join(re.sub(r"\s*:\s*", ":", d.strip(), count=1) for d in m.group(2).split(";") if d.strip())
        rules.append(",".join(selectors) + "{" + decls + "}")
    if len(rules) < 200 or not rules[0].startswith(".glyphicon{"):
        raise VendorError(f"glyphicons extraction found {len(rules)} rules; bootstrap.css changed?")
    font_face = (
        '@font-face{font-family:"Glyphicons Halflings";'
        'src:url(../fonts/glyphicons-halflings-regular.woff2) format("woff2")}'
    )
    head = (banner.group(0).strip() + "\n") if banner else ""
    head += (
        "/* Glyphicons Halflings rules only, cut from dist/css/bootstrap.css by geoplan's scripts/vendor_assets.py */\n"
    )
    return (head + font_face + "\n" + "\n".join(rules) + "\n").encode("utf-8")


def _drop_unshipped_font_sources(path: str, shipped: Callable[[str], bool]) -> Callable[[Reader], bytes]:
    """Return a deriver that removes @font-face src entries whose file is not vendored."""

    def derive(read: Reader) -> bytes:
        css = read(path).decode("utf-8")

        def fix_src(m: re.Match) -> str:
            entries = [e for e in _split_top_level(m.group(1))]
            keep = []
            for entry in entries:
                u = re.search(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", entry)
                if u is None or shipped(u.group(1)):
                    keep.append(entry)
            if not keep:
                raise VendorError(f"{path}: no shipped font left in src:{m.group(1)}")
            return "src:" + ",".join(keep)

        out = re.sub(r"src:([^;}]*)", fix_src, css)
        return out.encode("utf-8")

    return derive


def _split_top_level(value: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _rotate_css(_read: Reader) -> bytes:
    header = "/* folium's templates/leaflet.awesome.rotate.css (MIT), generated by scripts/vendor_assets.py */"
    lines = [header]
    for n in range(1, 361):
        lines.append(
            f".fa-rotate-{n}{{-ms-transform:rotate({n}deg);-webkit-transform:rotate({n}deg);transform:rotate({n}deg)}}"
        )
    return ("\n".join(lines) + "\n").encode("ascii")


# --------------------------------------------------------------------------- what to vendor

FA_FONTS = ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")

PACKAGES: list[Package] = [
    Package(
        "leaflet",
        "1.9.3",
        "leaflet",
        license="LICENSE",
        files=[
            File("dist/leaflet.js", "leaflet.js", (f"{JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.js",)),
            File("dist/leaflet.css", "leaflet.css", (f"{JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.css",)),
            *[
                File(f"dist/images/{name}", f"images/{name}")
                for name in (
                    "layers.png",
                    "layers-2x.png",
                    "marker-icon.png",
                    "marker-icon-2x.png",
                    "marker-shadow.png",
                )
            ],
        ],
    ),
    Package(
        "jquery",
        "3.7.1",
        "jquery",
        license="LICENSE.txt",
        files=[
            File(
                "dist/jquery.min.js",
                "jquery.min.js",
                ("https://code.jquery.com/jquery-3.7.1.min.js", f"{CDNJS}/jquery/3.7.1/jquery.min.js"),
            ),
        ],
    ),
    Package(
        "bootstrap",
        "5.2.2",
        "bootstrap",
        license="LICENSE",
        files=[
            File(
                "dist/js/bootstrap.bundle.min.js",
                "js/bootstrap.bundle.min.js",
                (f"{JSDELIVR}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",),
            ),
            File(
                "dist/css/bootstrap.min.css",
                "css/bootstrap.min.css",
                (f"{JSDELIVR}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",),
            ),
        ],
    ),
    Package(
        "bootstrap",
        "3.4.1",
        "bootstrap3-glyphicons",
        license="LICENSE",
        note="only the Glyphicons Halflings icon font and its rules (folium's default marker icons)",
        files=[
            File(
                "dist/css/bootstrap.css",
                "css/bootstrap-glyphicons.min.css",
                ("https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",),
                derive=_glyphicons_css,
                note="glyphicons rules cut out of dist/css/bootstrap.css",
            ),
            File("dist/fonts/glyphicons-halflings-regular.woff2", "fonts/glyphicons-halflings-regular.woff2"),
        ],
    ),
    Package(
        "@fortawesome/fontawesome-free",
        "6.2.0",
        "fontawesome-free",
        license="LICENSE.txt",
        files=[
            File(
                "css/all.min.css",
                "css/all.min.css",
                (f"{JSDELIVR}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",),
                derive=_drop_unshipped_font_sources("css/all.min.css", lambda url: url.endswith(".woff2")),
                note="@font-face src entries for .ttf files (not shipped) dropped",
            ),
            *[File(f"webfonts/{name}.woff2", f"webfonts/{name}.woff2") for name in FA_FONTS],
        ],
    ),
    Package(
        # cdnjs' Leaflet.awesome-markers 2.0.2 is lvoogdt's release; on npm it is
        # mirrored byte for byte by this package (the "leaflet.awesome-markers"
        # name has no 2.0.2, and its 2.0.5 fork uses other sprites).
        "drmonty-leaflet-awesome-markers",
        "2.0.2",
        "leaflet.awesome-markers",
        license=None,
        license_from=("leaflet.awesome-markers", "2.0.5", "LICENSE"),
        note=(
            "licence text (MIT, (C) 2013 L. Voogdt) taken from leaflet.awesome-markers@2.0.5:"
            " the 2.0.2 mirror ships none"
        ),
        files=[
            File(
                # Not the package's .min.js: that one predates the extraClasses
                # option folium uses for rotated icons (Icon(angle=...)).
                "js/leaflet.awesome-markers.js",
                "leaflet.awesome-markers.js",
                (f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",),
            ),
            File(
                "css/leaflet.awesome-markers.css",
                "leaflet.awesome-markers.css",
                (f"{CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",),
            ),
            *[
                File(f"css/images/{name}", f"images/{name}")
                for name in (
                    "markers-soft.png",
                    "markers-soft@2x.png",
                    "markers-shadow.png",
                    "markers-shadow@2x.png",
                )
            ],
        ],
    ),
    Package(
        "leaflet.markercluster",
        "1.1.0",
        "leaflet.markercluster",
        license="MIT-LICENCE.txt",
        files=[
            File(
                "dist/leaflet.markercluster.js",
                "leaflet.markercluster.js",
                (f"{CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js",),
            ),
            File(
                "dist/MarkerCluster.css",
                "MarkerCluster.css",
                (f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css",),
            ),
            File(
                "dist/MarkerCluster.Default.css",
                "MarkerCluster.Default.css",
                (f"{CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",),
            ),
        ],
    ),
    Package(
        "leaflet-draw",
        "1.0.2",
        "leaflet-draw",
        license=None,
        license_text=LEAFLET_DRAW_LICENSE,
        note="licence text is the upstream repository's MIT-LICENSE.md: the npm package ships none",
        files=[
            File("dist/leaflet.draw.js", "leaflet.draw.js", (f"{CDNJS}/leaflet.draw/1.0.2/leaflet.draw.js",)),
            File("dist/leaflet.draw.css", "leaflet.draw.css", (f"{CDNJS}/leaflet.draw/1.0.2/leaflet.draw.css",)),
            *[
                File(f"dist/images/{name}", f"images/{name}")
                for name in ("spritesheet.png", "spritesheet-2x.png", "spritesheet.svg")
            ],
        ],
    ),
    Package(
        "leaflet.fullscreen",
        "3.0.0",
        "leaflet.fullscreen",
        license="LICENSE",
        files=[
            File(
                "Control.FullScreen.js",
                "Control.FullScreen.js",
                (f"{JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",),
                note="the CDN minifies on the fly; the package ships only this source file",
            ),
            File(
                "Control.FullScreen.css",
                "Control.FullScreen.css",
                (f"{JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",),
            ),
            File("icon-fullscreen.svg", "icon-fullscreen.svg"),
        ],
    ),
    Package(
        "leaflet.locatecontrol",
        "0.66.2",
        "leaflet.locatecontrol",
        license="LICENSE",
        files=[
            File(
                "dist/L.Control.Locate.min.js",
                "L.Control.Locate.min.js",
                (f"{CDNJS}/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js",),
            ),
            File(
                "dist/L.Control.Locate.min.css",
                "L.Control.Locate.min.css",
                (f"{CDNJS}/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.css",),
            ),
        ],
    ),
    Package(
        # branca's colour-map legends (branca.colormap.ColorMap.render) load d3 3.5.5.
        "d3",
        "3.5.5",
        "d3",
        license="LICENSE",
        files=[File("d3.min.js", "d3.min.js", (f"{CDNJS}/d3/3.5.5/d3.min.js",))],
    ),
    Package(
        # folium loads ardhi/Leaflet.MousePosition from GitHub (unversioned);
        # this npm package is the published wrapper of that plugin.
        "leaflet-mouse-position",
        "1.2.0",
        "leaflet-mouse-position",
        license="MIT-LICENCE.txt",
        files=[
            File(
                "src/L.Control.MousePosition.js",
                "L.Control.MousePosition.js",
                (f"{JSDELIVR}/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.js",),
            ),
            File(
                "src/L.Control.MousePosition.css",
                "L.Control.MousePosition.css",
                (f"{JSDELIVR}/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.css",),
            ),
        ],
    ),
]

# Not an npm package: a style sheet folium keeps in its own repository.
FOLIUM_ROTATE = File(
    "templates/leaflet.awesome.rotate.css",
    "leaflet.awesome.rotate.min.css",
    (f"{JSDELIVR}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",),
    derive=_rotate_css,
    note="generated: .fa-rotate-1 ... .fa-rotate-360, as in folium's templates/leaflet.awesome.rotate.css",
)


# --------------------------------------------------------------------------- npm


def npm_pack(name: str, version: str, dest: Path) -> tuple[Path, str]:
    """``npm pack name@version`` into dest; return (tarball, integrity)."""
    spec = f"{name}@{version}"
    proc = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(dest)],
        cwd=dest,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise VendorError(f"npm pack {spec} failed:\n{proc.stderr.strip()}")
    info = json.loads(proc.stdout)[0]
    if info.get("version") != version:
        raise VendorError(f"npm pack {spec} returned version {info.get('version')}")
    return dest / info["filename"], info["integrity"]


def tar_reader(tarball: Path) -> Reader:
    """Read files of an npm tarball by their path below ``package/``."""
    with tarfile.open(tarball, "r:gz") as tf:
        files = {}
        for m in tf.getmembers():
            if m.isfile() and "/" in m.name:
                f = tf.extractfile(m)
                assert f is not None
                files[m.name.split("/", 1)[1]] = f.read()

    def read(path: str) -> bytes:
        if path not in files:
            raise VendorError(f"{tarball.name} has no {path}")
        return files[path]

    return read


# --------------------------------------------------------------------------- build


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(out: Path) -> dict:
    """Write every vendored file below out; return the manifest."""
    manifest: dict = {
        "generated_by": "scripts/vendor_assets.py",
        "note": ("Browser assets of geoplan's maps; see geoplan.offline. Do not edit by hand: rerun the script."),
        "packages": [],
    }
    with tempfile.TemporaryDirectory(prefix="geoplan-vendor-") as tmp:
        tmpdir = Path(tmp)
        for pkg in PACKAGES:
            tarball, integrity = npm_pack(pkg.npm, pkg.version, tmpdir)
            read = tar_reader(tarball)
            entry = {
                "package": pkg.npm,
                "version": pkg.version,
                "integrity": integrity,
                "folder": pkg.folder,
                "files": [],
            }
            if pkg.note:
                entry["note"] = pkg.note
            for f in pkg.files:
                data = f.derive(read) if f.derive else read(f.src)
                entry["files"].append(_write(out, pkg.folder, f, data))
            if pkg.license:
                lic = read(pkg.license)
                lic_name = Path(pkg.license).name
            elif pkg.license_from:
                lname, lver, lpath = pkg.license_from
                ltar, _ = npm_pack(lname, lver, tmpdir)
                lic = tar_reader(ltar)(lpath)
                lic_name = "LICENSE"
            else:
                assert pkg.license_text
                lic = pkg.license_text.encode("utf-8")
                lic_name = "LICENSE"
            entry["license"] = _write(out, pkg.folder, File(lic_name, lic_name), lic)
            manifest["packages"].append(entry)

    manifest["packages"].append(_folium_entry(out))
    return manifest


def _folium_entry(out: Path) -> dict:
    import importlib.metadata as md

    dist = md.distribution("folium")
    lic_files = [p for p in (dist.files or []) if Path(str(p)).name.upper().startswith("LICEN")]
    if not lic_files:
        raise VendorError("installed folium has no licence file in its metadata")
    lic = Path(str(dist.locate_file(lic_files[0]))).read_bytes()
    entry = {
        "package": "folium",
        "version": dist.version,
        "integrity": None,
        "folder": "folium",
        "note": "folium's own style sheet, generated (folium is not on npm)",
        "files": [_write(out, "folium", FOLIUM_ROTATE, FOLIUM_ROTATE.derive(lambda p: b""))],
    }
    entry["license"] = _write(out, "folium", File("LICENSE.txt", "LICENSE.txt"), lic)
    return entry


def _write(out: Path, folder: str, f: File, data: bytes) -> dict:
    rel = f"{folder}/{f.dest}"
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    rec = {"path": rel, "source": f.src, "sha256": sha256(data), "bytes": len(data)}
    if f.derive:
        rec["derived"] = f.note or "derived"
    elif f.note:
        rec["note"] = f.note
    if f.replaces:
        rec["replaces"] = list(f.replaces)
    return rec


# --------------------------------------------------------------------------- checks


def check_css_references(out: Path, manifest: dict) -> None:
    """Every relative url(...) in a vendored style sheet must name a vendored file."""
    for pkg in manifest["packages"]:
        for rec in pkg["files"]:
            if not rec["path"].endswith(".css"):
                continue
            css = (out / rec["path"]).read_text("utf-8")
            for m in re.finditer(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css):
                ref = m.group(1).strip()
                if ref.startswith(("data:", "#")):
                    continue
                if re.match(r"^[a-z]+:|^//", ref):
                    raise VendorError(f"{rec['path']} references remote {ref}")
                target = (out / rec["path"]).parent / ref.split("?")[0].split("#")[0]
                if not target.is_file():
                    raise VendorError(f"{rec['path']} references {ref}, which is not vendored")


def check_folium_coverage(manifest: dict) -> None:
    """Every CDN URL of folium.Map and of SUPPORTED_PLUGINS must be replaced."""
    import branca.colormap
    import folium
    import folium.plugins
    from branca.element import CssLink, JavascriptLink

    covered = {u for p in manifest["packages"] for r in p["files"] for u in r.get("replaces", [])}
    classes = [folium.Map] + [getattr(folium.plugins, n) for n in SUPPORTED_PLUGINS]
    missing = []
    for cls in classes:
        for _, url in list(getattr(cls, "default_js", [])) + list(getattr(cls, "default_css", [])):
            if url not in covered:
                missing.append(f"{cls.__name__}: {url}")
    # Links added at render time rather than listed in default_js/default_css
    # (branca's colour-map legend adds d3 this way).
    m = folium.Map(tiles=None)
    branca.colormap.LinearColormap(["red", "blue"], vmin=0, vmax=1).add_to(m)
    m.get_root().render()
    for child in m.get_root().header._children.values():
        if isinstance(child, (JavascriptLink, CssLink)) and child.url not in covered:
            missing.append(f"rendered map header: {child.url}")
    if missing:
        raise VendorError(
            "folium wants CDN files that are not vendored (pin them in PACKAGES):\n  " + "\n  ".join(missing)
        )


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): sha256(p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fetch and compare with the committed files; write nothing")
    ap.add_argument("--out", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if shutil.which("npm") is None:
        raise SystemExit("npm is not on PATH")

    with tempfile.TemporaryDirectory(prefix="geoplan-vendor-out-") as staging:
        stage = Path(staging)
        manifest = build(stage)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
        check_css_references(stage, manifest)
        check_folium_coverage(manifest)

        if args.check:
            want, have = tree_digest(stage), tree_digest(args.out) if args.out.is_dir() else {}
            diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
            if diff:
                print("vendor folder differs from a fresh build:\n  " + "\n  ".join(diff), file=sys.stderr)
                return 1
            print(f"vendor folder matches ({len(want)} files)")
            return 0

        readme = args.out / "README.md"
        keep_readme = readme.read_bytes() if readme.is_file() else None
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(stage, args.out)
        if keep_readme is not None:
            readme.write_bytes(keep_readme)

    files = [p for p in args.out.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {args.out} ({len(files)} files, {total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
