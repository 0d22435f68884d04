"""Filter features the way the app does and write them as GeoJSON, GeoPackage, KML or CSV.

Every format keeps every row, including those without geometry (city-wide or unlocated items): a
planner who exports "民生" must get all of its items, not only the ones that could be drawn. Geometries
are written as WGS84 lon/lat rounded to ``settings.coordinate_decimals``, exactly as in the GeoJSON.

- **geojson**: the RFC 7946 FeatureCollection ``geoplan build`` writes (validated before writing).
- **gpkg**: one layer ``features`` of geometry type ``GEOMETRY`` (GDAL "Unknown"), which the GeoPackage
  spec allows and GDAL, QGIS and geopandas open without complaint, so points, lines, areas and
  null-geometry rows stay in one table in report order. GDAL's own primary key is named ``ogc_fid``
  because geoplan's ``fid`` is a text column. ``precision_code`` is an INTEGER column (NULL if unlocated).
- **kml**: GDAL's KML driver. ``<name>`` is the matched place name (else the place, else the head of the
  item text), ``<description>`` the report sentence; the other columns go to ExtendedData, with
  ``name`` renamed ``place_name`` because KML field names are case-insensitive and would collide with
  ``Name``. Rows without geometry stay as placemarks without geometry (valid KML; Google Earth lists
  them in the Places panel), so no row is skipped.
- **csv**: UTF-8 with a BOM so Excel shows Chinese correctly, CRLF line ends (RFC 4180), all properties
  plus ``lon``/``lat`` for points (blank otherwise) and ``wkt`` for every geometry (blank when null).
  GDAL's CSV driver reads the ``wkt`` column back as geometry.

Every writer goes through ``geoplan._io.write_atomic``: a failed export leaves the previous file intact
and no temporary file behind.
"""

from __future__ import annotations

import html

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from geoplan import settings
from geoplan._io import write_atomic
from geoplan.errors import ExportError, ValidationError
from geoplan.features import _clean, dumps_geojson, features_to_geojson, validate_geojson

FORMATS: tuple[str, ...] = ("geojson", "gpkg", "kml", "csv")
SUFFIXES: dict[str, str] = {"geojson": ".geojson", "gpkg": ".gpkg", "kml": ".kml", "csv": ".csv"}
MEDIA_TYPES: dict[str, str] = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
    "csv": "text/csv",
}
QUERY_COLUMNS: tuple[str, ...] = ("text", "name", "matched", "section", "unresolved")
LAYER = "features"
GPKG_FID = "ogc_fid"
KML_RENAMES: dict[str, str] = {"name": "place_name"}
KML_NAME_CHARS = 20

_SUFFIX_FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".kml": "kml", ".csv": "csv"}


def _values(values: str | Iterable[object]) -> list[str]:
    """A lone string is one value, not its characters."""
    if isinstance(values, str):
        return [values] if values else []
    return [str(v) for v in values]


def filter_features(
    gdf: gpd.GeoDataFrame,
    *,
    domains: str | Iterable[str] = (),
    sections: str | Iterable[str] = (),
    statuses: str | Iterable[str] = (),
    districts: str | Iterable[str] = (),
    kinds: str | Iterable[str] = (),
    precisions: str | Iterable[str] = (),
    query: str = "",
) -> gpd.GeoDataFrame:
    """Rows matching every non-empty filter, in their order, null geometries included.

    Each argument lists accepted values of one column (``statuses`` are keys such as ``"starting"``,
    ``kinds`` match ``place_kind``); an empty one does not filter. ``sections`` also match an item's
    other sections, so an item the report repeats shows under each. ``query`` is a case-insensitive
    substring search over the item text, place names, section and unresolved names.
    """
    mask = pd.Series(True, index=gdf.index)
    for column, wanted in (("domain", domains), ("status", statuses), ("district", districts),
                           ("place_kind", kinds), ("precision", precisions)):
        accepted = _values(wanted)
        if accepted:
            mask &= gdf[column].isin(accepted) if column in gdf else False
    accepted = _values(sections)
    if accepted:
        hit = gdf["section"].isin(accepted) if "section" in gdf else pd.Series(False, index=gdf.index)
        if "sections" in gdf:
            hit |= gdf["sections"].map(
                lambda s: isinstance(s, str) and any(part in accepted for part in s.split("；")))
        mask &= hit
    needle = (query or "").strip()
    if needle:
        hit = pd.Series(False, index=gdf.index)
        for column in QUERY_COLUMNS:
            if column in gdf:
                hit |= gdf[column].astype("string").str.contains(needle, case=False, regex=False, na=False)
        mask &= hit
    return gdf[mask.astype(bool)]


def resolve_format(fmt: str | None, path: str | Path) -> str:
    """The format asked for, or the one ``path``'s suffix names; ``ExportError`` if neither is known."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        if suffix not in _SUFFIX_FORMATS:
            msg = (f"{path}: cannot tell the export format from the suffix {suffix!r}; "
                   f"choose one of {', '.join(FORMATS)}")
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
    cleaned = [_clean(g, settings.coordinate_decimals) for g in geom]
    frame[geom.name] = gpd.GeoSeries(cleaned, index=frame.index, crs=settings.default_crs)
    if "precision_code" in frame:
        frame["precision_code"] = pd.to_numeric(frame["precision_code"]).astype("Int64")
    frame.attrs = dict(gdf.attrs)
    return frame


def _write_geojson(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    tmp.write_text(dumps_geojson(validate_geojson(features_to_geojson(frame))), encoding="utf-8")


def _write_gpkg(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    pyogrio.write_dataframe(frame, tmp, layer=LAYER, driver="GPKG", geometry_type="Unknown",
                            layer_options={"FID": GPKG_FID})


def _filled(series: pd.Series) -> pd.Series:
    """Blank strings count as missing, so the next candidate name is used."""
    s = series.astype("string")
    return s.mask(s.str.strip() == "")


def _head(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    return text if len(text) <= KML_NAME_CHARS else text[:KML_NAME_CHARS] + "…"


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
    description = (props["text"].map(lambda v: html.escape(v) if isinstance(v, str) else v).astype("string")
                   if "text" in props else pd.Series(pd.NA, index=frame.index, dtype="string"))
    rest = props.drop(columns=[c for c in ("text",) if c in props]).rename(columns=KML_RENAMES)
    out = pd.concat([pd.DataFrame({"Name": label, "Description": description}), rest], axis=1)
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs=frame.crs)


def _write_kml(frame: gpd.GeoDataFrame, tmp: Path) -> None:
    pyogrio.write_dataframe(_kml_frame(frame), tmp, layer=LAYER, driver="KML", geometry_type="Unknown",
                            dataset_options={"NameField": "Name", "DescriptionField": "Description"})


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
    table["wkt"] = pd.array(shapely.to_wkt(values, rounding_precision=settings.coordinate_decimals),
                            dtype="string")
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
    "geojson": _write_geojson, "gpkg": _write_gpkg, "kml": _write_kml, "csv": _write_csv,
}


def export_features(gdf: gpd.GeoDataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``gdf`` to ``path`` as ``fmt`` (default: from the suffix), atomically; return the path."""
    path = Path(path)
    key = resolve_format(fmt, path)
    frame = _prepared(gdf)
    writer = _WRITERS[key]
    try:
        return write_atomic(path, lambda tmp: writer(frame, tmp))
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
