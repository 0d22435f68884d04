"""Filter features the way the app does and write them as GeoJSON, GeoPackage, KML or CSV.

Every format can keep every row, including those without geometry (city-wide or unlocated items); the
command line and the app export the located ones unless asked for the rest (``--include-unlocated``, a
checkbox), and say how many they left out. Geometries are written as WGS84 lon/lat rounded to
``settings.coordinate_decimals``, exactly as in the GeoJSON.

- **geojson**: the RFC 7946 FeatureCollection ``geoplan build`` writes (validated before writing).
- **gpkg**: one layer per geometry kind — ``points``, ``lines``, ``areas`` (each only when it has rows) —
  and a non-spatial table ``unlocated`` of the rows without geometry, so QGIS styles each layer by its
  own type. A layer whose rows share one geometry type declares it (``POINT``, ``MULTIPOLYGON`` …), a
  mixed one (lines and multi-lines) declares ``GEOMETRY`` and keeps each geometry as it was, so a file
  read back equals what was written. GDAL's own primary key is named ``ogc_fid`` because geoplan's ``fid``
  is a text column. ``precision_code`` is an INTEGER column (NULL if unlocated). An empty selection still
  writes the ``unlocated`` table (empty), so the file opens.
- **kml**: GDAL's KML driver. ``<name>`` is the matched place name (else the place, else the head of the
  item text), ``<description>`` the report sentence; the other columns go to ExtendedData, with
  ``name`` renamed ``place_name`` because KML field names are case-insensitive and would collide with
  ``Name``. Every text value is XML-escaped by GDAL and HTML-escaped by geoplan first, because Google
  Earth renders ExtendedData and descriptions as HTML. Rows without geometry stay as placemarks without
  geometry (valid KML; Google Earth lists them in the Places panel), so no row is skipped.
- **csv**: UTF-8 with a BOM so Excel shows Chinese correctly, CRLF line ends (RFC 4180), all properties
  plus ``lon``/``lat`` for points (blank otherwise) and ``wkt`` for every geometry (blank when null).
  GDAL's CSV driver reads the ``wkt`` column back as geometry.

Every writer goes through ``geoplan._io.write_atomic`` and is read back before the file is moved into
place (GDAL's KML driver does not report a failed write): a failed or truncated export leaves the
previous file intact and no temporary file behind.
"""

from __future__ import annotations

import csv
import errno
import html
import json
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from geoplan import settings
from geoplan._io import TruncatedWriteError, write_atomic
from geoplan.errors import ExportError, ValidationError
from geoplan.features import clean_geometries, geometry_kind, write_geojson

FORMATS: tuple[str, ...] = ("geojson", "gpkg", "kml", "csv")
SUFFIXES: dict[str, str] = {"geojson": ".geojson", "gpkg": ".gpkg", "kml": ".kml", "csv": ".csv"}
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv",
}
LAYER = "features"  # the KML folder
GPKG_LAYERS: dict[str, str] = {"point": "points", "line": "lines", "area": "areas"}
GPKG_UNLOCATED = "unlocated"
GPKG_FID = "ogc_fid"
KML_RENAMES: dict[str, str] = {"name": "place_name"}
KML_NAME_CHARS = 20

_SUFFIX_FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".kml": "kml", ".csv": "csv"}


def resolve_format(fmt: str | None, path: str | Path) -> str:
    """The format asked for, or the one ``path``'s suffix names; ``ExportError`` if neither is known."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        if suffix not in _SUFFIX_FORMATS:
            msg = (
                f"{path}: cannot tell the export format from the suffix {suffix!r}; choose one of {', '.join(FORMATS)}"
            )
            raise ExportError(msg)
        return _SUFFIX_FORMATS[suffix]
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        msg = f"{path}: unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}"
        raise ExportError(msg)
    return key


def _prepared(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """WGS84, a fresh index, geometries rounded and oriented as in the GeoJSON, integer precision codes."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"can only export a GeoDataFrame, not {type(gdf).__name__}"
        raise ExportError(msg)
    if gdf.crs is None:
        gdf = gdf.set_crs(settings.default_crs)
    elif not gdf.crs.equals(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    frame = gdf.reset_index(drop=True)
    geom = frame.geometry
    cleaned = clean_geometries(np.asarray(geom.values, dtype=object), settings.coordinate_decimals)
    frame[geom.name] = gpd.GeoSeries(cleaned, index=frame.index, crs=settings.default_crs)
    if "precision_code" in frame:
        frame["precision_code"] = pd.to_numeric(frame["precision_code"]).astype("Int64")
    frame.attrs = dict(gdf.attrs)
    return frame


def _write_geojson(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    write_geojson(frame, tmp)  # made, checked and written chunk by chunk; a bad one is never moved into place


def _gpkg_layers(frame: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """(layer name, rows) per geometry kind that has rows, in kind order; rows keep report order."""
    geom = frame.geometry
    kinds = geom.map(lambda g: "none" if g is None or g.is_empty else geometry_kind(g))
    return [(name, frame[(kinds == kind).to_numpy()]) for kind, name in GPKG_LAYERS.items() if (kinds == kind).any()]


def _unlocated(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    geom = frame.geometry
    empty = geom.isna().to_numpy() | np.asarray(geom.is_empty, dtype=bool)
    return pd.DataFrame(frame[empty].drop(columns=[geom.name]))


def _write_gpkg(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    for name, rows in _gpkg_layers(frame):
        types = set(rows.geom_type)
        declared = types.pop() if len(types) == 1 else "Unknown"
        pyogrio.write_dataframe(
            rows,
            tmp,
            layer=name,
            driver="GPKG",
            geometry_type=declared,
            layer_options={"FID": GPKG_FID},
            promote_to_multi=False,
            append=tmp.exists(),
        )
    unlocated = _unlocated(frame)
    if len(unlocated) or not tmp.exists():
        pyogrio.write_dataframe(
            unlocated, tmp, layer=GPKG_UNLOCATED, driver="GPKG", layer_options={"FID": GPKG_FID}, append=tmp.exists()
        )


def _filled(series: pd.Series) -> pd.Series:
    """Blank strings count as missing, so the next candidate name is used."""
    s = series.astype("string")
    return s.mask(s.str.strip() == "")


def _head(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    return text if len(text) <= KML_NAME_CHARS else text[:KML_NAME_CHARS] + "…"


def _html_text(value: object) -> object:
    return html.escape(value) if isinstance(value, str) else value


def _kml_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Name and Description first, the other properties as ExtendedData, without case clashes."""
    geom = frame.geometry.name
    props = frame.drop(columns=[geom])
    label = pd.Series(pd.NA, index=frame.index, dtype="string")
    for column in ("matched", "name"):
        if column in props:
            label = label.fillna(_filled(props[column]))
    if "text" in props:
        label = label.fillna(props["text"].map(_head).astype("string"))
    # Google Earth shows a description as HTML; escaped, a report's "<script>" stays text there.
    description = (
        props["text"].map(_html_text).astype("string")
        if "text" in props
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    rest = props.drop(columns=[c for c in ("text",) if c in props]).rename(columns=KML_RENAMES)
    for column in rest.columns:  # ExtendedData is shown as HTML too: a domain "<b>…" must stay text
        if rest[column].dtype == object or pd.api.types.is_string_dtype(rest[column]):
            rest[column] = rest[column].map(_html_text)
    out = pd.concat([pd.DataFrame({"Name": label, "Description": description}), rest], axis=1)
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs=frame.crs)


def _write_kml(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    pyogrio.write_dataframe(
        _kml_frame(frame),
        tmp,
        layer=LAYER,
        driver="KML",
        geometry_type="Unknown",
        dataset_options={"NameField": "Name", "DescriptionField": "Description"},
    )


def _csv_frame(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """All properties, then lon/lat for points and WKT for every geometry (blank when there is none)."""
    geom = frame.geometry
    table = pd.DataFrame(frame.drop(columns=[geom.name]))
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(_defuse_formula)
    values = geom.values
    is_point = np.asarray(geom.geom_type == "Point", dtype=bool)
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    if is_point.any():
        lon[is_point] = shapely.get_x(values[is_point])
        lat[is_point] = shapely.get_y(values[is_point])
    table["lon"] = lon
    table["lat"] = lat
    table["wkt"] = pd.array(shapely.to_wkt(values, rounding_precision=settings.coordinate_decimals), dtype="string")
    return table


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write_csv(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    _csv_frame(frame).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


_WRITERS: dict[str, Callable[[gpd.GeoDataFrame, Path], None]] = {
    "geojson": _write_geojson,
    "gpkg": _write_gpkg,
    "kml": _write_kml,
    "csv": _write_csv,
}


def _count_geojson(path: Path) -> int:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return len(doc["features"])


def _count_gpkg(path: Path) -> int:
    layers = pyogrio.list_layers(path)
    return sum(
        int(pyogrio.read_info(path, layer=str(name), force_feature_count=True)["features"]) for name, _kind in layers
    )


def _count_kml(path: Path) -> int:
    count = 0
    for _event, elem in ET.iterparse(path):  # a truncated file is a ParseError ("no element found")
        if elem.tag.rsplit("}", 1)[-1] == "Placemark":
            count += 1
            elem.clear()
    return count


def _count_csv(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return max(sum(1 for _ in csv.reader(f, strict=True)) - 1, 0)


_COUNTERS: dict[str, Callable[[Path], int]] = {
    "geojson": _count_geojson,
    "gpkg": _count_gpkg,
    "kml": _count_kml,
    "csv": _count_csv,
}


def verify_export(path: Path, fmt: str, expected: int) -> None:
    """Read a written export back and count its rows; ``TruncatedWriteError`` unless all ``expected`` are there.

    Writers may fail without saying so (GDAL's KML driver on a full disk): reading back is the only proof.
    """
    try:
        if path.stat().st_size == 0:
            raise TruncatedWriteError(errno.EIO, "the written file is empty (disk full?)")
        found = _COUNTERS[fmt](path)
    except TruncatedWriteError:
        raise
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        ET.ParseError,
        csv.Error,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
    ) as err:
        msg = f"the written {fmt} does not read back ({err}); disk full?"
        raise TruncatedWriteError(errno.EIO, msg) from err
    if found != expected:
        msg = f"the written {fmt} holds {found} of {expected} rows (disk full?)"
        raise TruncatedWriteError(errno.EIO, msg)


def export_features(
    gdf: gpd.GeoDataFrame, path: str | Path, fmt: str | None = None, *, created: Callable[[Path], None] | None = None
) -> Path:
    """Write ``gdf`` to ``path`` as ``fmt`` (default: from the suffix), checked and atomically; return the path.

    ``created`` is told about each missing parent folder made on the way (the CLI says so on stderr).
    """
    path = Path(path)
    key = resolve_format(fmt, path)
    if path.is_dir():  # else GDAL's error, or a file where a folder was meant
        msg = f"{path}: is a folder; name the {key} file to write in it"
        raise ExportError(msg)
    frame = _prepared(gdf)
    writer = _WRITERS[key]
    try:
        return write_atomic(
            path,
            lambda tmp: writer(frame, tmp),
            verify=lambda tmp: verify_export(tmp, key, len(frame)),
            created=created,
        )
    except ValidationError as err:
        raise ValidationError(f"{path}: not written: {err}") from err
    except OSError as err:
        msg = f"{path}: cannot write {key}: {err.strerror or err}"
        raise ExportError(msg) from err
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as err:
        msg = f"{path}: GDAL could not write {key}: {err}"
        raise ExportError(msg) from err


def export_bytes(gdf: gpd.GeoDataFrame, fmt: str) -> bytes:
    """The file ``export_features`` would write, as bytes (for a download button; GDAL needs a real file)."""
    key = resolve_format(fmt, f"<{fmt}>")
    with tempfile.TemporaryDirectory(prefix="geoplan-export-") as tmp:
        return export_features(gdf, Path(tmp) / f"features{SUFFIXES[key]}", key).read_bytes()
