"""Exports: every format round-trips (rows without geometry included), filters, the CLI, atomic writes.

The gazetteer changes while the project grows, so expectations are derived from the exported
GeoDataFrame rather than fixed counts of located features.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from conftest import REPORT
from geoplan.cli import main
from geoplan.errors import ExportError
from geoplan.export import (
    FORMATS, KML_NAME_CHARS, LAYER, SUFFIXES, export_bytes, export_features, filter_features, resolve_format,
)
from geoplan.features import check_rfc7946, features_from_path

TOL = 1e-6


@pytest.fixture(scope="module")
def mixed(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Six real rows given every geometry type geoplan produces, one of them null."""
    rows = gdf.head(6).copy()
    hole = [(112.52, 37.82), (112.54, 37.82), (112.54, 37.84), (112.52, 37.84)]
    geoms = [
        Point(112.55, 37.87),
        LineString([(112.5, 37.8), (112.6, 37.9), (112.65, 37.85)]),
        Polygon([(112.5, 37.8), (112.6, 37.8), (112.6, 37.9), (112.5, 37.9)], [hole]),
        MultiPolygon([box(112.4, 37.7, 112.45, 37.75), box(112.7, 37.9, 112.75, 37.95)]),
        None,
        MultiLineString([[(112.5, 37.8), (112.6, 37.9)], [(112.7, 37.8), (112.8, 37.9)]]),
    ]
    return rows.set_geometry(gpd.GeoSeries(geoms, index=rows.index, crs="EPSG:4326"))


def _same_geometry(expected: BaseGeometry | None, got: BaseGeometry | None) -> bool:
    """Equal within TOL whatever the ring orientation or start vertex; null matches null only."""
    if expected is None or expected.is_empty:
        return got is None or got.is_empty
    if got is None or got.is_empty:
        return False
    return bool(shapely.equals_exact(shapely.normalize(expected), shapely.normalize(got), tolerance=TOL))


def _assert_geometries(expected: gpd.GeoDataFrame, got: gpd.GeoSeries | list) -> None:
    exp = list(expected.geometry)
    got = list(got)
    assert len(exp) == len(got)
    pairs = zip(expected["fid"], exp, got, strict=True)
    bad = [(fid, e, g) for fid, e, g in pairs if not _same_geometry(e, g)]
    assert not bad, bad[:3]


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v == ""


def _strings(series: pd.Series) -> list[str | None]:
    return [None if _blank(v) else str(v) for v in series]


# --- round trips ----------------------------------------------------------------------------------------


def test_geojson_round_trip(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.geojson", "geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == []
    assert [f["properties"]["fid"] for f in doc["features"]] == list(gdf["fid"])
    assert [f["properties"]["item_id"] for f in doc["features"]] == list(gdf["item_id"])
    assert [f["properties"]["name"] for f in doc["features"]] == _strings(gdf["name"])
    _assert_geometries(gdf, [shapely.geometry.shape(f["geometry"]) if f["geometry"] else None
                             for f in doc["features"]])
    assert doc["report"]["source"] == REPORT.name
    back = features_from_path(out)  # what `geoplan export` and the app read back
    assert list(back["fid"]) == list(gdf["fid"])
    read = pyogrio.read_dataframe(out)
    assert len(read) == len(gdf)
    _assert_geometries(gdf, read.geometry)


def test_gpkg_round_trip(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.gpkg", "gpkg")
    info = pyogrio.read_info(out, layer=LAYER)
    assert info["geometry_type"] == "Unknown"  # one mixed layer: points, lines, areas and nulls together
    assert info["crs"] == "EPSG:4326"
    assert info["ogr_types"][list(info["fields"]).index("precision_code")] in ("OFTInteger", "OFTInteger64")
    with sqlite3.connect(out) as con:
        assert con.execute("select geometry_type_name, srs_id from gpkg_geometry_columns").fetchall() == [
            ("GEOMETRY", 4326)]
    read = gpd.read_file(out, layer=LAYER, engine="pyogrio")
    assert len(read) == len(gdf)
    assert list(read["fid"]) == list(gdf["fid"])
    assert list(read["item_id"]) == list(gdf["item_id"])
    assert _strings(read["name"]) == _strings(gdf["name"])
    assert _strings(read["text"]) == _strings(gdf["text"])
    assert read["precision_code"].astype("Int64").tolist() == gdf["precision_code"].astype("Int64").tolist()
    assert int(read.geometry.isna().sum()) == int(gdf.geometry.isna().sum())
    _assert_geometries(gdf, read.geometry)


def test_kml_round_trip_keeps_rows_without_geometry(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.kml", "kml")
    raw = out.read_text(encoding="utf-8")
    assert raw.count("<Placemark") == len(gdf)  # no row skipped, null geometries included
    read = pyogrio.read_dataframe(out, layer=LAYER)
    cols = {c.lower(): c for c in read.columns}
    assert len(read) == len(gdf)
    assert list(read["fid"]) == list(gdf["fid"])
    assert list(read["item_id"]) == list(gdf["item_id"])
    assert _strings(read["place_name"]) == _strings(gdf["name"])
    assert _strings(read[cols["description"]]) == _strings(gdf["text"])
    names = zip(read[cols["name"]], gdf["matched"], gdf["name"], gdf["text"], strict=True)
    for got, matched, name, text in names:
        want = next((v for v in (matched, name) if not _blank(v)), None)
        if want is None:
            want = text if len(text) <= KML_NAME_CHARS else text[:KML_NAME_CHARS] + "…"
        assert got == want
    assert int(read.geometry.isna().sum()) == int(gdf.geometry.isna().sum())
    _assert_geometries(gdf, read.geometry)


def test_csv_round_trip(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.csv", "csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese as UTF-8
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns)[-3:] == ["lon", "lat", "wkt"]
    assert set(gdf.columns) - {"geometry"} <= set(table.columns)
    assert list(table["fid"]) == list(gdf["fid"])
    assert list(table["item_id"]) == list(gdf["item_id"])
    assert [v or None for v in table["name"]] == _strings(gdf["name"])
    assert [v or None for v in table["text"]] == _strings(gdf["text"])
    wkt = [shapely.from_wkt(w) if w else None for w in table["wkt"]]
    _assert_geometries(gdf, wkt)
    for geom, lon, lat in zip(gdf.geometry, table["lon"], table["lat"], strict=True):
        if geom is not None and geom.geom_type == "Point":
            assert abs(float(lon) - geom.x) <= TOL and abs(float(lat) - geom.y) <= TOL
        else:
            assert lon == "" and lat == ""
    read = pyogrio.read_dataframe(out)  # GDAL takes the wkt column as the geometry
    assert len(read) == len(gdf)
    assert list(read["fid"]) == list(gdf["fid"])
    _assert_geometries(gdf, read.geometry)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_geometry_type_round_trips(mixed: gpd.GeoDataFrame, fmt: str, tmp_path: Path) -> None:
    out = export_features(mixed, tmp_path / f"mixed{SUFFIXES[fmt]}", fmt)
    read = pyogrio.read_dataframe(out)
    assert list(read["fid"]) == list(mixed["fid"])
    assert [g.geom_type if g is not None else None for g in read.geometry] == [
        g.geom_type if g is not None else None for g in mixed.geometry]
    _assert_geometries(mixed, read.geometry)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_selection_writes_a_valid_empty_file(gdf: gpd.GeoDataFrame, fmt: str, tmp_path: Path) -> None:
    none = filter_features(gdf, domains=["no such domain"])
    out = export_features(none, tmp_path / f"empty{SUFFIXES[fmt]}", fmt)
    if fmt == "geojson":
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert check_rfc7946(doc) == [] and doc["features"] == []
    else:
        assert len(pyogrio.read_dataframe(out)) == 0


def test_projected_input_is_written_as_wgs84(mixed: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(mixed.to_crs(32649), tmp_path / "utm.gpkg")
    read = gpd.read_file(out, engine="pyogrio")
    assert read.crs.to_epsg() == 4326
    _assert_geometries(mixed, read.geometry)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_bytes_is_the_file(mixed: gpd.GeoDataFrame, fmt: str, tmp_path: Path) -> None:
    data = export_bytes(mixed, fmt)
    magic = {"geojson": b'{"type":"FeatureCollection"', "gpkg": b"SQLite format 3\x00", "kml": b"<?xml",
             "csv": b"\xef\xbb\xbffid,"}
    assert data.startswith(magic[fmt])
    if fmt in ("geojson", "csv"):  # text formats are byte-for-byte deterministic
        assert data == export_features(mixed, tmp_path / f"f{SUFFIXES[fmt]}", fmt).read_bytes()


def test_format_from_suffix_and_unknown_formats(mixed: gpd.GeoDataFrame, tmp_path: Path) -> None:
    assert resolve_format(None, "a.GeoJSON") == "geojson"
    assert resolve_format(None, "a.json") == "geojson"
    assert resolve_format("KML", "a.txt") == "kml"
    with pytest.raises(ExportError, match=r"a\.shp.*unknown export format 'shp'.*geojson, gpkg, kml, csv"):
        export_features(mixed, tmp_path / "a.shp", "shp")
    with pytest.raises(ExportError, match=r"cannot tell the export format"):
        export_features(mixed, tmp_path / "a.shp")
    with pytest.raises(ExportError):
        export_bytes(mixed, "xlsx")
    assert list(tmp_path.iterdir()) == []


# --- filters --------------------------------------------------------------------------------------------


def test_empty_filter_keeps_every_row_in_order(gdf: gpd.GeoDataFrame) -> None:
    out = filter_features(gdf)
    assert list(out["fid"]) == list(gdf["fid"])
    assert int(out.geometry.isna().sum()) == int(gdf.geometry.isna().sum())
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == gdf.crs


def test_domain_filter(gdf: gpd.GeoDataFrame) -> None:
    out = filter_features(gdf, domains=["民生"])
    assert len(out) == int((gdf["domain"] == "民生").sum()) > 0
    assert set(out["domain"]) == {"民生"}
    assert list(out["fid"]) == [f for f, d in zip(gdf["fid"], gdf["domain"], strict=True) if d == "民生"]
    assert out.geometry.isna().any()  # city-wide items stay in the selection
    assert list(filter_features(gdf, domains="民生")["fid"]) == list(out["fid"])  # a lone string is one value


def test_combined_filters(gdf: gpd.GeoDataFrame) -> None:
    row = gdf[gdf["district"].notna()].iloc[0]
    out = filter_features(gdf, domains=[row["domain"]], statuses=[row["status"]], districts=[row["district"]],
                          kinds=[row["place_kind"]], precisions=[row["precision"]])
    assert row["fid"] in set(out["fid"])
    for column in ("domain", "status", "district", "place_kind", "precision"):
        assert set(out[column]) == {row[column]}
    both = filter_features(gdf, domains=["民生", "环境"], statuses=["ongoing_policy"])
    assert set(both["domain"]) <= {"民生", "环境"} and set(both["status"]) == {"ongoing_policy"}
    assert len(both) == int((gdf["domain"].isin(["民生", "环境"]) & (gdf["status"] == "ongoing_policy")).sum())


def test_section_filter_also_matches_repeated_sections(gdf: gpd.GeoDataFrame) -> None:
    section = gdf["section"].dropna().iloc[0]
    out = filter_features(gdf, sections=[section])
    assert len(out) > 0
    assert all(s == section or section in str(ss).split("；")
               for s, ss in zip(out["section"], out["sections"], strict=True))


def test_query_finds_the_road(gdf: gpd.GeoDataFrame) -> None:
    out = filter_features(gdf, query="迎泽西大街")
    assert len(out) > 0
    assert all("迎泽西大街" in t for t in out["text"])
    want = [f for f, t in zip(gdf["fid"], gdf["text"], strict=True) if "迎泽西大街" in t]
    assert list(out["fid"]) == want
    assert list(filter_features(gdf, query="  ")["fid"]) == list(gdf["fid"])


def test_query_is_case_insensitive_and_searches_names(mixed: gpd.GeoDataFrame) -> None:
    frame = mixed.copy()
    frame["text"] = ["Build the NEW Road"] + list(frame["text"].iloc[1:])
    frame["unresolved"] = [None, None, "Fooville", None, None, None]
    assert list(filter_features(frame, query="new road")["fid"]) == [frame["fid"].iloc[0]]
    assert list(filter_features(frame, query="FOOVILLE")["fid"]) == [frame["fid"].iloc[2]]
    assert len(filter_features(frame, query="nowhere at all")) == 0


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_exports_a_domain_from_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "minsheng.gpkg"
    assert main(["export", str(REPORT), "--format", "gpkg", "--domain", "民生", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features written" in err[0] and str(out) in err[0]
    read = gpd.read_file(out, engine="pyogrio")
    assert set(read["domain"]) == {"民生"}
    expected = filter_features(features_from_path(REPORT), domains=["民生"])
    assert set(read["item_id"]) == set(expected["item_id"])
    assert read.geometry.isna().any()


def test_cli_exports_from_a_built_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = tmp_path / "built.geojson"
    assert main(["build", str(REPORT), "-o", str(built)]) == 0
    out = tmp_path / "roads.csv"
    assert main(["export", str(built), "-f", "csv", "--query", "迎泽西大街", "--status", "under_construction",
                 "--status", "启动", "-o", str(out)]) == 0
    built_gdf = features_from_path(built)
    expected = filter_features(built_gdf, query="迎泽西大街", statuses=["under_construction", "starting"])
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table["fid"]) == list(expected["fid"])
    assert f"{len(expected)} of {len(built_gdf)} features written" in capsys.readouterr().err
    # no filter: every row of the built file, suffix picks the format
    everything = tmp_path / "all.kml"
    assert main(["export", str(built), "-o", str(everything)]) == 0
    assert len(pyogrio.read_dataframe(everything)) == len(built_gdf)


def test_cli_unknown_domain_warns_and_writes_nothing_matching(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none.geojson"
    assert main(["export", str(REPORT), "--domain", "文化", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: no domain 文化" in err and "民生" in err and "0 of " in err
    assert json.loads(out.read_text(encoding="utf-8"))["features"] == []


def test_cli_unknown_format_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "out.shp"
    run = subprocess.run([sys.executable, "-m", "geoplan.cli", "export", str(REPORT), "--format", "shp",
                          "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "unknown export format 'shp'" in run.stderr and "geojson, gpkg, kml, csv" in run.stderr
    assert not out.exists()


def test_cli_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("geoplan: error:") and "missing.txt" in err[0]


# --- atomic writes --------------------------------------------------------------------------------------


def _fail_after_some_bytes(exc: BaseException, written: list[Path] | None = None):
    """A stand-in writer that leaves half a file where it was asked to write, then fails."""
    def write_partly(path: str | Path) -> None:
        Path(path).write_bytes(b"half a file")
        if written is not None:
            written.append(Path(path))
        raise exc
    return write_partly


@pytest.mark.parametrize(("fmt", "exc"), [
    ("geojson", OSError(28, "No space left on device")),
    ("gpkg", OSError(28, "No space left on device")),
    ("kml", pyogrio.errors.DataSourceError("write failed")),
    ("csv", OSError(28, "No space left on device")),
])
def test_failed_write_leaves_previous_file(mixed: gpd.GeoDataFrame, fmt: str, exc: Exception, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / f"out{SUFFIXES[fmt]}"
    target.write_bytes(b"previous export")
    written: list[Path] = []
    fail = _fail_after_some_bytes(exc, written)
    if fmt == "geojson":
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: fail(self))
    elif fmt == "csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, path, *a, **k: fail(path))
    else:
        monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, path, *a, **k: fail(path))
    with pytest.raises(ExportError, match=str(target.name)):
        export_features(mixed, target, fmt)
    assert len(written) == 1 and written[0].parent == tmp_path and written[0] != target  # wrote beside it
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_interrupted_write_leaves_previous_file(mixed: gpd.GeoDataFrame, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.gpkg"
    target.write_bytes(b"previous export")
    fail = _fail_after_some_bytes(KeyboardInterrupt())
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, path, *a, **k: fail(path))
    with pytest.raises(KeyboardInterrupt):
        export_features(mixed, target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_cli_failed_write_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.kml"
    target.write_bytes(b"previous export")
    fail = _fail_after_some_bytes(OSError(28, "No space left on device"))
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, path, *a, **k: fail(path))
    assert main(["export", str(REPORT), "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"geoplan: error: {target}: cannot write kml: No space left on device"]
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_kml_description_and_csv_cells_cannot_run(tmp_path):
    """Google Earth renders descriptions as HTML; spreadsheets run cells that start with '='."""
    import pyogrio

    from geoplan.export import export_features
    from geoplan.features import features_from_report
    from geoplan.parse import report_from_text

    text = "关键词:测试\n◆=HYPERLINK(\"http://example.invalid\",\"点击\")实施迎泽西大街<script>alert(1)</script>改造。"
    gdf = features_from_report(report_from_text(text, source="payload"))
    kml = export_features(gdf, tmp_path / "p.kml", "kml")
    back = pyogrio.read_dataframe(kml)
    desc = back["Description" if "Description" in back else "description"].iloc[0]  # KML or LIBKML driver
    assert "<script>" not in desc and "&lt;script&gt;" in desc
    csv = export_features(gdf, tmp_path / "p.csv", "csv").read_text("utf-8-sig")
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv
