"""A report's pipeline result and map data kept in the data dir by content, so that a server's start reads them.

At 10k distinct places the app's first run spent ~3 s on parsing, linking and geocoding the report and on its
map data (bench/README.md, ``prepcache``); ``geoplan prepare`` (or the app's first visit) keeps both in
``<data dir>/prepared/`` beside the prepared gazetteers:

- ``report-<key>.gpk``: the frame ``features_from_report`` returns, as GeoParquet (dtypes, missing values and
  the index as written), and its ``attrs`` as JSON;
- ``mapdata-<key>.gpk``: a ``MapData`` (``maps.map_data_bytes``, LZ4-compressed) of that frame with the
  corrections applied, per basemap.

The report's key is a sha256 of the report's bytes and name, of every gazetteer file a report may be geocoded
with (keyed as ``gazetteer.py`` keys its own prepared files), of geoplan's code and of the libraries' versions;
a map data's key adds the corrections and the basemap. So a kept file is never stale: anything that could
change it changes its name. Each file ends in a sha256 of what precedes it; a file that is cut short, damaged
or of another format is logged and ignored (then computed and kept again), never trusted. Only safe formats
(Parquet, JSON, UTF-8 text): nothing is unpickled. Written atomically; the newest few of each kind are kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geoplan import settings
from geoplan._io import check_size, write_atomic, write_pieces
from geoplan.features import CHECKED
from geoplan.gazetteer import Gazetteer, gazetteer_for
from geoplan.maps import Basemap, MapData, map_data, map_data_bytes, map_data_from_bytes

__all__ = [
    "KEPT",
    "BASEMAPS",
    "PREPARED_FORMAT",
    "PrepareResult",
    "code_key",
    "corrected_frame",
    "corrections_key",
    "drawn_key",
    "gazetteer_key",
    "package_key",
    "prepared_dir",
    "prepared_drawn",
    "prepare_report",
    "prepared_frame",
    "read_frame",
    "read_map_data",
    "report_adcode",
    "report_key",
    "write_frame",
    "write_map_data",
]

#: The files' layout; bump it when it, or what a kept frame or map data holds, changes.
PREPARED_FORMAT = 1
#: Files kept per kind (the newest used): a few reports, and their map data per corrections and basemap.
KEPT = {"report": 8, "mapdata": 16}
_MAGIC = b"geoplan prepared\n"
_SUFFIX = ".gpk"

log = logging.getLogger("geoplan.prepared")


def prepared_dir(data_dir: Path | None = None) -> Path:
    """Where prepared files live: ``<data dir>/prepared`` (shared with the prepared gazetteers)."""
    return (data_dir if data_dir is not None else settings.data_dir()) / "prepared"


@functools.cache
def code_key() -> str:
    """A digest of geoplan's own files (``package_key``) and of the versions of Python and of the libraries that
    parse, geocode and serialise: what a kept frame or map data depends on besides its inputs. Once per process
    (the code does not change under a running server)."""
    h = hashlib.sha256(f"{PREPARED_FORMAT}\0{package_key(Path(__file__).resolve().parent)}\0".encode())
    versions = (sys.version, pd.__version__, gpd.__version__, shapely.__version__, shapely.geos_version_string)
    h.update(repr((*versions, np.__version__, version("pyarrow"), orjson.__version__)).encode())
    return h.hexdigest()


def package_key(root: Path) -> str:
    """A digest of every file under ``root`` (names and bytes) but its static assets (the page's, not the data's),
    a wheel's geodata (keyed as gazetteer files) and bytecode."""
    h = hashlib.sha256()
    skip = {"static", "_geodata", "__pycache__"}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts)):
        data = path.read_bytes()
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


def _gazetteer_files() -> list[Path]:
    """Every file a report may be parsed or geocoded with: the curated gazetteers of every city and the
    administrative units and boundaries of China (``geoplan.admin``), which name a report's city."""
    from geoplan import admin

    files = {Path(p) for p in settings.gazetteer_paths()}
    files.update(Path(p) for paths in settings.city_gazetteers().values() for p in paths)
    folder = admin.admin_dir()
    if folder.is_dir():
        files.update(p for p in folder.rglob("*") if p.is_file())
    return sorted(files)


def gazetteer_key() -> str:
    """The gazetteers' key, as ``gazetteer.py`` keys its own prepared files (each file's name and bytes, its
    code, settings and library versions), over every file a report may use (``_gazetteer_files``): which
    city's gazetteer serves a report is known only once it is parsed. A missing file counts as empty."""
    from geoplan.gazetteer import _prepared_key

    files = _gazetteer_files()
    blobs = []
    for path in files:
        try:
            blobs.append(path.read_bytes())
        except OSError:
            blobs.append(b"")
    return _prepared_key(files, blobs, True)


def report_key(data: bytes, name: str) -> str:
    """The key of a report's kept frame: its bytes and name, the gazetteers, geoplan's code and libraries."""
    h = hashlib.sha256()
    for part in ("report", code_key(), gazetteer_key(), name, str(len(data))):
        h.update(part.encode("utf-8") + b"\0")
    h.update(data)
    return h.hexdigest()


def corrections_key(corrections: Iterable[Any]) -> str:
    """The corrections' content, not their ids (two data dirs may both hold a correction #1): the app's
    cache key and a part of a map data's key."""
    return hashlib.sha1(repr([c.to_properties() for c in corrections]).encode()).hexdigest()


def drawn_key(report: str, corrections: str) -> str:
    """The key of a report's frame with corrections applied (``Prepared.key`` in the app)."""
    return hashlib.sha256(f"drawn\0{report}\0{corrections}".encode()).hexdigest()


def _path(directory: Path, kind: str, key: str) -> Path:
    return directory / f"{kind}-{key}{_SUFFIX}"


def _write(directory: Path, kind: str, key: str, header: dict[str, Any], payload: bytes) -> None:
    """``MAGIC``, the header's length and JSON, the payload, then a sha256 of all that. Best effort: a data dir
    that cannot be written only costs the next start the computing."""
    head = orjson.dumps({**header, "format": PREPARED_FORMAT, "kind": kind, "key": key})
    pieces = (_MAGIC, len(head).to_bytes(8, "little"), head, payload)
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)

    def write(tmp: Path) -> None:  # in pieces: tens of MB of map data are not copied into one
        check_size(tmp, write_pieces(tmp, (*pieces, digest.digest())))

    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(_path(directory, kind, key), write)
        kept = sorted(directory.glob(f"{kind}-*{_SUFFIX}"), key=_mtime, reverse=True)
        for old in kept[KEPT[kind] :]:
            old.unlink(missing_ok=True)
    except OSError as err:
        log.warning("prepared %s not kept in %s: %s", kind, directory, err)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # pruned by another process meanwhile
        return 0.0


def _read(directory: Path, kind: str, key: str) -> tuple[dict[str, Any], memoryview] | None:
    """The header and payload kept under ``key``, or None: absent, or (logged) damaged or of another format."""
    path = _path(directory, kind, key)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        log.warning("prepared %s %s not read: %s", kind, path, err)
        return None
    view = memoryview(raw)
    start = len(_MAGIC) + 8
    problem = None
    if len(raw) < start + 32 or not raw.startswith(_MAGIC):
        problem = "not a prepared file"
    elif hashlib.sha256(view[:-32]).digest() != raw[-32:]:
        problem = "damaged (its checksum does not match)"
    else:
        size = int.from_bytes(raw[len(_MAGIC) : start], "little")
        try:
            header = orjson.loads(view[start : start + size])
        except orjson.JSONDecodeError as err:
            header, problem = {}, f"header not JSON ({err})"
        if not isinstance(header, dict):
            problem = "header not a JSON object"
        elif (header.get("format"), header.get("kind"), header.get("key")) != (PREPARED_FORMAT, kind, key):
            problem = f"of another format or key ({header.get('format')!r}, {header.get('kind')!r})"
    if problem is not None:
        log.warning("prepared %s %s ignored: %s", kind, path, problem)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # the newest used are the ones kept
    return header, view[start + size : -32]


def write_frame(directory: Path, key: str, gdf: gpd.GeoDataFrame) -> None:
    """Keep the pipeline's frame: GeoParquet for the columns (geometries as WKB), JSON for ``attrs``.

    Attrs that JSON would not give back as they are (tuples, numbers of numpy) are not kept: the frame
    is then computed again on the next start rather than served changed. The record of checked geometries
    (``features.CHECKED``) names this process's objects: the frame read back has others, so it is not kept."""
    attrs = {k: v for k, v in gdf.attrs.items() if k != CHECKED}
    try:
        text = orjson.dumps(attrs)
    except TypeError as err:
        log.warning("prepared report not kept: its attrs are not JSON (%s)", err)
        return
    if orjson.loads(text) != attrs:
        log.warning("prepared report not kept: its attrs would not read back as they are")
        return
    plain = gdf.copy(deep=False)
    plain.attrs = {}
    buf = io.BytesIO()
    plain.to_parquet(buf)  # snappy: WKB's coordinates hardly compress, and it reads a little faster
    _write(directory, "report", key, {"attrs": orjson.loads(text)}, buf.getvalue())


def read_frame(directory: Path, key: str) -> gpd.GeoDataFrame | None:
    """The frame kept under ``key``, or None (then the caller computes it)."""
    kept = _read(directory, "report", key)
    if kept is None:
        return None
    header, payload = kept
    try:
        if not isinstance(header.get("attrs"), dict):
            raise ValueError("its attrs are not a JSON object")
        gdf = gpd.read_parquet(io.BytesIO(payload))  # type: ignore[arg-type]  # a file object: the stubs say paths
    except Exception as err:  # a damaged file is no reason to fail: the report is computed instead
        log.warning("prepared report %s ignored: %s", _path(directory, "report", key), err)
        return None
    gdf.attrs = header["attrs"]
    return gdf


def write_map_data(directory: Path, key: str, basemap: Basemap, data: MapData) -> None:
    """Keep a map data (``maps.map_data_bytes``) under the key of its frame and basemap."""
    import pyarrow as pa  # type: ignore[import-untyped]  # geopandas' Parquet engine, a dependency

    try:
        raw = map_data_bytes(data)
    except ValueError as err:  # spilled to files: nothing to keep
        log.warning("prepared map data not kept: %s", err)
        return
    # LZ4: 10k distinct places' 47 MB of JSON text in 21 MB, undone in 0.06 s (zstd: 13 MB, 0.11 s).
    payload = pa.compress(raw, codec="lz4", asbytes=True)
    _write(directory, "mapdata", _map_key(key, basemap), {"basemap": basemap, "size": len(raw)}, payload)


def read_map_data(directory: Path, key: str, basemap: Basemap) -> MapData | None:
    import pyarrow as pa

    kept = _read(directory, "mapdata", _map_key(key, basemap))
    if kept is None:
        return None
    header, payload = kept
    try:
        raw = pa.decompress(payload, decompressed_size=int(header["size"]), codec="lz4", asbytes=True)
        return map_data_from_bytes(raw)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OSError) as err:
        log.warning("prepared map data %s ignored: %s", _path(directory, "mapdata", _map_key(key, basemap)), err)
        return None


def _map_key(key: str, basemap: Basemap) -> str:
    return hashlib.sha256(f"mapdata\0{key}\0{basemap}\0lod".encode()).hexdigest()


def prepared_frame(
    data: bytes,
    name: str,
    *,
    directory: Path | None = None,
    gazetteer: Callable[[str | None], Gazetteer] | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """The pipeline's frame of a report (``features_from_report``) and its key: read when kept, else computed
    and kept. ``gazetteer``: the gazetteer of an adcode (the app's cached one); by default loaded, and kept
    prepared, from the same directory."""
    from geoplan.features import features_from_report
    from geoplan.parse import report_from_bytes

    directory = directory if directory is not None else prepared_dir()
    key = report_key(data, name)
    kept = read_frame(directory, key)
    if kept is not None:
        return kept, key
    report = report_from_bytes(data, source=name)
    adcode = report.city.adcode if report.city else None
    gaz = gazetteer(adcode) if gazetteer is not None else gazetteer_for(adcode, prepared_dir=directory)
    gdf = features_from_report(report, gazetteer=gaz)
    write_frame(directory, key, gdf)
    return gdf, key


def prepared_drawn(key: str, basemap: Basemap, gdf: gpd.GeoDataFrame, *, directory: Path | None = None) -> MapData:
    """``map_data(gdf, basemap, lod=True)`` of the frame kept under ``key`` (``drawn_key``): read when kept,
    else computed and kept."""
    directory = directory if directory is not None else prepared_dir()
    kept = read_map_data(directory, key, basemap)
    if kept is not None:
        return kept
    data = map_data(gdf, basemap, lod=True)
    write_map_data(directory, key, basemap, data)
    return data


@dataclass(frozen=True)
class PrepareResult:
    """What ``prepare_report`` did: the report's frame, whether it was computed (else read), and what else."""

    key: str
    features: int
    computed: bool
    places: int  # the gazetteer's entries
    corrections: int  # applied on top of the frame, as the app applies them
    not_applied: int
    basemaps: tuple[Basemap, ...]
    store_error: str | None  # the corrections store could not be read (the app then shows none either)


BASEMAPS: tuple[Basemap, ...] = ("osm", "light", "amap")


def report_adcode(meta: dict[str, Any]) -> str | None:
    """The adcode of a report's city (a frame's ``attrs["report"]``), as ``gazetteer_for`` takes it."""
    adcode = (meta.get("city") or {}).get("adcode")
    return str(adcode) if adcode else None


def corrected_frame(
    gdf: gpd.GeoDataFrame, key: str, corrections: Sequence[Any], gazetteer: Gazetteer
) -> tuple[gpd.GeoDataFrame, list[Any], str]:
    """The pipeline's frame of report ``key`` with ``corrections`` applied as the app shows it, the corrections
    not applied (their items are gone), and the key its map data is kept under. The app's ``prepare`` and
    ``prepare_report`` both call it, so what ``geoplan prepare`` keeps is what the app asks for."""
    from geoplan.corrections import apply_corrections

    meta = gdf.attrs["report"]
    corrected, left = apply_corrections(gdf, corrections, gazetteer=gazetteer)
    corrected.attrs["report"] = meta
    return corrected, list(left), drawn_key(key, corrections_key(corrections))


def prepare_report(
    data: bytes, name: str, *, data_dir: Path | None = None, basemaps: Iterable[Basemap] = ("osm",)
) -> PrepareResult:
    """Keep what the app's first visit to a report needs in ``data_dir``'s ``prepared/``: the gazetteer of the
    report's city, the pipeline's frame, and the map data of that frame with the store's active corrections
    applied (the keys the app will ask for) on ``basemaps`` (the app opens on OpenStreetMap; each other
    basemap is ~2 s and, at 10k distinct places, 21 MB more). Raises the report's own ``ReportError``."""
    from geoplan.corrections import CorrectionStore
    from geoplan.errors import GeoplanError

    directory = prepared_dir(data_dir)
    seen: list[str | None] = []

    def gazetteer(adcode: str | None) -> Gazetteer:
        seen.append(adcode)
        return gazetteer_for(adcode, prepared_dir=directory)

    gdf, key = prepared_frame(data, name, directory=directory, gazetteer=gazetteer)
    gaz = gazetteer(report_adcode(gdf.attrs["report"]))  # kept too: the app loads it on its first run
    corrections: list[Any] = []
    store_error = None
    try:
        corrections = CorrectionStore.in_data_dir(data_dir).all()
    except GeoplanError as err:
        store_error = str(err)
    corrected, left, drawn = corrected_frame(gdf, key, corrections, gaz)
    chosen = tuple(dict.fromkeys(basemaps))
    for basemap in chosen:
        prepared_drawn(drawn, basemap, corrected, directory=directory)
    return PrepareResult(
        key=key,
        features=len(gdf),
        computed=len(seen) > 1,
        places=len(gaz),
        corrections=len(corrections) - len(left),
        not_applied=len(left),
        basemaps=chosen,
        store_error=store_error,
    )
