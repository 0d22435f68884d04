#!/usr/bin/env python3
"""Refresh the vendored browser files of geoplan's maps from their npm tarballs.

geoplan's maps load seven files from public CDNs, which many users in mainland China cannot reach:
Leaflet, Leaflet.markercluster and Leaflet.draw, at the versions folium pins. ``ASSETS`` below says,
for each CDN URL a map loads (and each image those files load beside themselves), which file of which
npm package stands in for it. This script fetches the packages with the ordinary ``npm pack`` (through
whatever registry npm is configured to use), copies exactly those files and each package's licence
into ``src/geoplan/static/vendor/``, and writes ``assets.json``: the table ``{cdn url: file, package,
version, licence, sha256, bytes}`` that ``geoplan.offline`` reads. Nothing else is kept: a file no URL
names is deleted.

Usage::

    python scripts/vendor_assets.py           # (re)write the vendor folder and assets.json
    python scripts/vendor_assets.py --check   # fetch again and compare with what is committed; write nothing

Needs ``npm`` on PATH and network access to its registry. Without them it stops with npm's message and
changes nothing. tests/test_offline.py checks the committed folder against the table offline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = ROOT / "src" / "geoplan" / "static" / "vendor"
TABLE = "assets.json"
KEEP = {TABLE, "README.md"}  # files in the vendor folder that are not vendored

JSDELIVR = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist"
CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"

# npm package -> (version, licence file in its tarball or None, SPDX id)
PACKAGES: dict[str, tuple[str, str | None, str]] = {
    "leaflet": ("1.9.3", "LICENSE", "BSD-2-Clause"),
    "leaflet.markercluster": ("1.1.0", "MIT-LICENCE.txt", "MIT"),
    "leaflet-draw": ("1.0.2", None, "MIT"),
}

# The leaflet-draw tarball ships no licence file; this is the upstream repository's MIT-LICENSE.md
# (its package.json says "license": "MIT").
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
# npm package -> where its licence is kept in the vendor folder
LICENCE_FILES = {
    "leaflet": "leaflet/LICENSE",
    "leaflet.markercluster": "leaflet.markercluster/MIT-LICENCE.txt",
    "leaflet-draw": "leaflet-draw/LICENSE",
}

# CDN URL -> (npm package, path in its tarball, vendored file). The images are the URLs the style
# sheets (and Leaflet's default marker) load beside themselves on the CDN.
ASSETS: dict[str, tuple[str, str, str]] = {
    f"{JSDELIVR}/leaflet.js": ("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    f"{JSDELIVR}/leaflet.css": ("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    **{
        f"{JSDELIVR}/images/{name}": ("leaflet", f"dist/images/{name}", f"leaflet/images/{name}")
        for name in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")
    },
    **{
        f"{CDNJS}/leaflet.markercluster/1.1.0/{name}": (
            "leaflet.markercluster",
            f"dist/{name}",
            f"leaflet.markercluster/{name}",
        )
        for name in ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css")
    },
    **{
        f"{CDNJS}/leaflet.draw/1.0.2/{name}": ("leaflet-draw", f"dist/{name}", f"leaflet-draw/{name}")
        for name in (
            "leaflet.draw.js",
            "leaflet.draw.css",
            "images/spritesheet.png",
            "images/spritesheet-2x.png",
            "images/spritesheet.svg",
        )
    },
}


class VendorError(RuntimeError):
    """npm failed, or a package lacks a file the table names."""


def npm_pack(name: str, version: str, dest: Path) -> dict[str, bytes]:
    """The files of ``name@version``'s npm tarball, by their path below ``package/``."""
    spec = f"{name}@{version}"
    try:
        proc = subprocess.run(
            ["npm", "pack", spec, "--json", "--pack-destination", str(dest)],
            cwd=dest,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as err:
        raise VendorError("npm is not on PATH (Debian: apt-get install npm)") from err
    if proc.returncode != 0:
        raise VendorError(f"npm pack {spec} failed:\n{proc.stderr.strip()}")
    info = json.loads(proc.stdout)[0]
    if info.get("version") != version:
        raise VendorError(f"npm pack {spec} returned version {info.get('version')}")
    files: dict[str, bytes] = {}
    with tarfile.open(dest / info["filename"], "r:gz") as tf:
        for member in tf.getmembers():
            extracted = tf.extractfile(member) if member.isfile() and "/" in member.name else None
            if extracted is not None:
                files[member.name.split("/", 1)[1]] = extracted.read()
    return files


def fetch() -> dict[str, bytes]:
    """Every vendored file (assets and licences), by its path below the vendor folder."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="geoplan-vendor-") as tmp:
        tarballs = {name: npm_pack(name, version, Path(tmp)) for name, (version, _, _) in PACKAGES.items()}
    for url, (package, source, file) in ASSETS.items():
        if source not in tarballs[package]:
            raise VendorError(f"{package}@{PACKAGES[package][0]} has no {source} (for {url})")
        out[file] = tarballs[package][source]
    for package, (_, licence, _) in PACKAGES.items():
        out[LICENCE_FILES[package]] = tarballs[package][licence] if licence else LEAFLET_DRAW_LICENSE.encode("utf-8")
    return out


def table(files: dict[str, bytes]) -> dict[str, object]:
    """assets.json: the CDN URL table geoplan.offline reads."""
    assets = {}
    for url, (package, _, file) in ASSETS.items():
        version, _, spdx = PACKAGES[package]
        assets[url] = {
            "file": file,
            "package": package,
            "version": version,
            "licence": spdx,
            "licence_file": LICENCE_FILES[package],
            "sha256": hashlib.sha256(files[file]).hexdigest(),
            "bytes": len(files[file]),
        }
    licences = {
        LICENCE_FILES[p]: {"package": p, "sha256": hashlib.sha256(files[LICENCE_FILES[p]]).hexdigest()}
        for p in PACKAGES
    }
    return {
        "generated_by": "scripts/vendor_assets.py (npm pack of each package; do not edit by hand)",
        "assets": assets,
        "licences": licences,
    }


def write(files: dict[str, bytes]) -> None:
    """Replace the vendor folder's files by ``files`` and the table; delete whatever else is there."""
    for path in sorted(VENDOR_DIR.rglob("*"), reverse=True):
        rel = path.relative_to(VENDOR_DIR).as_posix()
        if path.is_file() and rel not in files and rel not in KEEP:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, data in files.items():
        (VENDOR_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
        (VENDOR_DIR / rel).write_bytes(data)
    text = json.dumps(table(files), indent=1, ensure_ascii=False) + "\n"
    (VENDOR_DIR / TABLE).write_text(text, "utf-8")


def check(files: dict[str, bytes]) -> list[str]:
    """How the committed folder differs from a fresh fetch (empty: it matches)."""
    problems = [
        f"{rel}: differs from npm"
        for rel, data in files.items()
        if not (VENDOR_DIR / rel).is_file() or (VENDOR_DIR / rel).read_bytes() != data
    ]
    committed = json.loads((VENDOR_DIR / TABLE).read_text("utf-8"))
    if committed != table(files):
        problems.append(f"{TABLE}: differs from the table this script writes")
    extra = [
        p.relative_to(VENDOR_DIR).as_posix()
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.relative_to(VENDOR_DIR).as_posix() not in {*files, *KEEP}
    ]
    return problems + [f"{rel}: no URL uses it" for rel in sorted(extra)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with a fresh fetch; write nothing")
    args = parser.parse_args(argv)
    try:
        files = fetch()
    except VendorError as err:
        print(f"vendor_assets: {err}\nnothing was changed", file=sys.stderr)
        return 1
    if args.check:
        problems = check(files)
        for line in problems:
            print(f"vendor_assets: {line}", file=sys.stderr)
        return 1 if problems else 0
    write(files)
    total = sum(len(d) for d in files.values())
    print(f"{len(files)} files, {total:,} bytes in {VENDOR_DIR.relative_to(ROOT)}; table in {TABLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
