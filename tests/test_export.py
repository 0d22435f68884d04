"""Exports: every format round-trips (rows without geometry included), filters, the CLI, atomic writes.

The gazetteer changes while the project grows, so expectations are derived from the exported
GeoDataFrame rather than fixed counts of located features.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

import geoplan.export
from conftest import REPORT
from geoplan.cli import main
from geoplan.errors import ExportError
from geoplan.export import (
    FORMATS,
    GPKG_LAYERS,
    GPKG_UNLOCATED,
    KML_NAME_CHARS,
    LAYER,
    SUFFIXES,
    export_bytes,
    export_features,
    resolve_format,
)
from geoplan.filters import filter_features
from geoplan.features import check_rfc7946, features_from_path

TOL = 1e-6
# Hypothesis keeps caches beside its example database even with database=None: not in the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "geoplan-hypothesis")


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


def _read(path: Path, order: pd.Series | None = None) -> gpd.GeoDataFrame:
    """Read any export back as one frame; a GeoPackage's layers are joined and put back in ``order`` (fids)."""
    if path.suffix != ".gpkg":
        return pyogrio.read_dataframe(path)
    parts = []
    for name, _kind in pyogrio.list_layers(path):
        part = pyogrio.read_dataframe(path, layer=str(name))
        if not isinstance(part, gpd.GeoDataFrame):
            part = gpd.GeoDataFrame(part, geometry=gpd.GeoSeries([None] * len(part), crs="EPSG:4326"))
        parts.append(part)
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    if order is not None:
        frame = frame.set_index("fid").loc[list(order)].reset_index()
    return frame


# --- round trips ----------------------------------------------------------------------------------------


def test_geojson_round_trip(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.geojson", "geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == []
    assert [f["properties"]["fid"] for f in doc["features"]] == list(gdf["fid"])
    assert [f["properties"]["item_id"] for f in doc["features"]] == list(gdf["item_id"])
    assert [f["properties"]["name"] for f in doc["features"]] == _strings(gdf["name"])
    _assert_geometries(gdf, [shapely.geometry.shape(f["geometry"]) if f["geometry"] else None for f in doc["features"]])
    assert doc["report"]["source"] == REPORT.name
    back = features_from_path(out)  # what `geoplan export` and the app read back
    assert list(back["fid"]) == list(gdf["fid"])
    read = pyogrio.read_dataframe(out)
    assert len(read) == len(gdf)
    _assert_geometries(gdf, read.geometry)


def test_gpkg_round_trip(gdf: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(gdf, tmp_path / "out.gpkg", "gpkg")
    kinds = gdf["geometry_kind"]
    layers = dict(pyogrio.list_layers(out))
    expected = [name for kind, name in GPKG_LAYERS.items() if (kinds == kind).any()] + [GPKG_UNLOCATED]
    assert list(layers) == expected  # one layer per geometry kind present, then the unlocated table
    assert layers[GPKG_UNLOCATED] is None  # non-spatial
    for kind, name in GPKG_LAYERS.items():
        if name not in layers:
            continue
        info = pyogrio.read_info(out, layer=name)
        assert info["features"] == int((kinds == kind).sum())
        assert info["crs"] == "EPSG:4326"
        types = set(gdf[kinds == kind].geom_type)
        assert info["geometry_type"] == (types.pop() if len(types) == 1 else "Unknown")
        assert info["ogr_types"][list(info["fields"]).index("precision_code")] in ("OFTInteger", "OFTInteger64")
        part = pyogrio.read_dataframe(out, layer=name)
        assert list(part["fid"]) == list(gdf[kinds == kind]["fid"])  # report order within a layer
    with sqlite3.connect(out) as con:
        assert {r[0] for r in con.execute("select srs_id from gpkg_geometry_columns")} == {4326}
    unlocated = pyogrio.read_dataframe(out, layer=GPKG_UNLOCATED)
    assert list(unlocated["fid"]) == list(gdf[gdf.geometry.isna()]["fid"])
    read = _read(out, gdf["fid"])
    assert len(read) == len(gdf)
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
    read = _read(out, mixed["fid"])
    assert list(read["fid"]) == list(mixed["fid"])
    assert [g.geom_type if g is not None else None for g in read.geometry] == [
        g.geom_type if g is not None else None for g in mixed.geometry
    ]
    _assert_geometries(mixed, read.geometry)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_selection_writes_a_valid_empty_file(gdf: gpd.GeoDataFrame, fmt: str, tmp_path: Path) -> None:
    none = filter_features(gdf, domains=["no such domain"])
    out = export_features(none, tmp_path / f"empty{SUFFIXES[fmt]}", fmt)
    if fmt == "geojson":
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert check_rfc7946(doc) == [] and doc["features"] == []
    else:
        assert len(_read(out)) == 0


def test_projected_input_is_written_as_wgs84(mixed: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = export_features(mixed.to_crs(32649), tmp_path / "utm.gpkg")
    read = _read(out, mixed["fid"])
    assert {pyogrio.read_info(out, layer=name)["crs"] for name in GPKG_LAYERS.values()} == {"EPSG:4326"}
    _assert_geometries(mixed, read.geometry)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_bytes_is_the_file(mixed: gpd.GeoDataFrame, fmt: str, tmp_path: Path) -> None:
    data = export_bytes(mixed, fmt)
    magic = {
        "geojson": b'{"type":"FeatureCollection"',
        "gpkg": b"SQLite format 3\x00",
        "kml": b"<?xml",
        "csv": b"\xef\xbb\xbffid,",
    }
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
    out = filter_features(
        gdf,
        domains=[row["domain"]],
        statuses=[row["status"]],
        districts=[row["district"]],
        kinds=[row["place_kind"]],
        precisions=[row["precision"]],
    )
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
    assert all(
        s == section or section in str(ss).split("；") for s, ss in zip(out["section"], out["sections"], strict=True)
    )


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
    assert (
        main(["export", str(REPORT), "--format", "gpkg", "--domain", "民生", "--include-unlocated", "-o", str(out)])
        == 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "features written" in err[0] and str(out) in err[0]
    read = _read(out)
    assert set(read["domain"]) == {"民生"}
    expected = filter_features(features_from_path(REPORT), domains=["民生"])
    assert set(read["item_id"]) == set(expected["item_id"])
    assert read.geometry.isna().any()


def test_cli_exports_from_a_built_geojson(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = tmp_path / "built.geojson"
    assert main(["build", str(REPORT), "-o", str(built)]) == 0
    out = tmp_path / "roads.csv"
    assert (
        main(
            [
                "export",
                str(built),
                "-f",
                "csv",
                "--query",
                "迎泽西大街",
                "--status",
                "under_construction",
                "--status",
                "启动",
                "--include-unlocated",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    built_gdf = features_from_path(built)
    expected = filter_features(built_gdf, query="迎泽西大街", statuses=["under_construction", "starting"])
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table["fid"]) == list(expected["fid"])
    assert f"{len(expected)} of {len(built_gdf)} features written" in capsys.readouterr().err
    # no filter: every row of the built file, suffix picks the format
    everything = tmp_path / "all.kml"
    assert main(["export", str(built), "--include-unlocated", "-o", str(everything)]) == 0
    assert len(pyogrio.read_dataframe(everything)) == len(built_gdf)


def test_cli_unknown_domain_warns_and_writes_nothing_matching(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.geojson"
    assert main(["export", str(REPORT), "--domain", "文化", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: no domain 文化" in err and "民生" in err and "0 of " in err
    assert json.loads(out.read_text(encoding="utf-8"))["features"] == []


def test_cli_unknown_format_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "out.shp"
    run = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "export", str(REPORT), "--format", "shp", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
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


@pytest.mark.parametrize(
    ("fmt", "exc"),
    [
        ("geojson", OSError(28, "No space left on device")),
        ("gpkg", OSError(28, "No space left on device")),
        ("kml", pyogrio.errors.DataSourceError("write failed")),
        ("csv", OSError(28, "No space left on device")),
    ],
)
def test_failed_write_leaves_previous_file(
    mixed: gpd.GeoDataFrame, fmt: str, exc: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / f"out{SUFFIXES[fmt]}"
    target.write_bytes(b"previous export")
    written: list[Path] = []
    fail = _fail_after_some_bytes(exc, written)
    if fmt == "geojson":
        monkeypatch.setattr("geoplan.export.write_geojson", lambda frame, path: fail(path))  # streams its pieces
    elif fmt == "csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, path, *a, **k: fail(path))
    else:
        monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, path, *a, **k: fail(path))
    with pytest.raises(ExportError, match=str(target.name)):
        export_features(mixed, target, fmt)
    assert len(written) == 1 and written[0].parent == tmp_path and written[0] != target  # wrote beside it
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_interrupted_write_leaves_previous_file(
    mixed: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.gpkg"
    target.write_bytes(b"previous export")
    fail = _fail_after_some_bytes(KeyboardInterrupt())
    monkeypatch.setattr(pyogrio, "write_dataframe", lambda df, path, *a, **k: fail(path))
    with pytest.raises(KeyboardInterrupt):
        export_features(mixed, target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_cli_failed_write_keeps_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
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

    text = '关键词:测试\n◆=HYPERLINK("http://example.invalid","点击")实施迎泽西大街<script>alert(1)</script>改造。'
    gdf = features_from_report(report_from_text(text, source="payload"))
    kml = export_features(gdf, tmp_path / "p.kml", "kml")
    back = pyogrio.read_dataframe(kml)
    desc = back["Description" if "Description" in back else "description"].iloc[0]  # KML or LIBKML driver
    assert "<script>" not in desc and "&lt;script&gt;" in desc
    csv = export_features(gdf, tmp_path / "p.csv", "csv").read_text("utf-8-sig")
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv


# --- writes that fail without saying so ----------------------------------------------------------------


def _truncating(real, path_arg: int = 1):
    """Wrap a writer so it 'succeeds' but leaves half its file, as GDAL's KML driver does on a full disk."""

    def write(*args, **kwargs):
        result = real(*args, **kwargs)
        path = Path(args[path_arg] if len(args) > path_arg else kwargs["path"])
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return result

    return write


@pytest.mark.parametrize("fmt", FORMATS)
def test_silently_truncated_export_is_refused_and_keeps_the_previous_file(
    mixed: gpd.GeoDataFrame, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / f"out{SUFFIXES[fmt]}"
    target.write_bytes(b"previous export")
    if fmt == "geojson":  # written piece by piece as it is made
        monkeypatch.setattr("geoplan.export.write_geojson", _truncating(geoplan.export.write_geojson))
    elif fmt == "csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", _truncating(pd.DataFrame.to_csv))
    elif fmt == "kml":
        monkeypatch.setattr(pyogrio, "write_dataframe", _truncating(pyogrio.write_dataframe))
    else:  # several layers: truncate after the last one (GDAL notices a damaged file when appending)
        monkeypatch.setitem(geoplan.export._WRITERS, fmt, _truncating(geoplan.export._WRITERS[fmt]))
    with pytest.raises(ExportError, match=rf"{target.name}: cannot write {fmt}: .*(read back|holds|empty)"):
        export_features(mixed, target, fmt)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_cli_kml_to_a_full_disk_fails_instead_of_claiming_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.kml"
    target.write_bytes(b"previous export")
    monkeypatch.setattr(pyogrio, "write_dataframe", _truncating(pyogrio.write_dataframe))
    assert main(["export", str(REPORT), "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"geoplan: error: {target}: cannot write kml:"), err
    assert "features written" not in err[0]
    assert target.read_bytes() == b"previous export"


# --- what is exported, and under which name ------------------------------------------------------------


def test_cli_exports_located_rows_unless_asked(
    gdf: gpd.GeoDataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    located = int(gdf.geometry.notna().sum())
    unlocated = len(gdf) - located
    assert 0 < located < len(gdf)
    out = tmp_path / "a.geojson"
    assert main(["export", str(REPORT), "-o", str(out)]) == 0
    assert len(json.loads(out.read_text("utf-8"))["features"]) == located
    err = capsys.readouterr().err
    assert f"{located} of {len(gdf)} features written" in err and f"{unlocated} without geometry left out" in err
    assert main(["export", str(REPORT), "--include-unlocated", "-o", str(out)]) == 0
    assert len(json.loads(out.read_text("utf-8"))["features"]) == len(gdf)
    gpkg = tmp_path / "a.gpkg"
    assert main(["export", str(REPORT), "-o", str(gpkg)]) == 0
    assert GPKG_UNLOCATED not in dict(pyogrio.list_layers(gpkg))
    assert main(["export", str(REPORT), "--include-unlocated", "-o", str(gpkg)]) == 0
    assert len(pyogrio.read_dataframe(gpkg, layer=GPKG_UNLOCATED)) == unlocated


def test_export_filename_says_what_was_filtered() -> None:
    from geoplan.filters import MAX_NAME_CHARS, Filters, export_filename

    assert (
        export_filename("taiyuan-2025.txt", Filters(domains=("民生",), districts=("小店区",)), "geojson")
        == "taiyuan-2025-民生-小店区.geojson"
    )
    assert export_filename("taiyuan-2025", Filters(), ".csv") == "taiyuan-2025.csv"
    assert export_filename("taiyuan-2025", None, "kml", include_unlocated=True) == "taiyuan-2025-with-unlocated.kml"
    assert (
        export_filename("r.txt", Filters(domains=("民生", "环境"), statuses=("starting",), query="幸福 桥"), "gpkg")
        == "r-民生+环境-starting-幸福_桥.gpkg"
    )
    odd = export_filename("../x/报告.txt", Filters(query='a/b\\c:d*e?"<>|\x00'), "csv")
    assert odd == "报告-a_b_c_d_e.csv" and "/" not in odd
    many = [export_filename("r", Filters(sections=tuple(f"板块{i}" for i in range(n))), "csv") for n in (40, 41)]
    assert all(len(m) <= MAX_NAME_CHARS + 4 for m in many) and many[0] != many[1]


def test_cli_names_the_file_when_out_is_a_folder_or_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(REPORT), "--domain", "民生", "-f", "csv", "-o", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [f"{REPORT.stem}-民生.csv"]
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(REPORT), "--district", "小店区", "--include-unlocated"]) == 0
    assert (tmp_path / f"{REPORT.stem}-小店区-with-unlocated.geojson").exists()


def test_kml_extended_data_is_escaped(mixed: gpd.GeoDataFrame, tmp_path: Path) -> None:
    rows = mixed.copy()
    rows["domain"] = "<b onmouseover=alert(1)>民生</b>"
    rows["section"] = "<script>x</script>&"
    out = export_features(rows, tmp_path / "x.kml", "kml")
    back = pyogrio.read_dataframe(out)
    assert set(back["domain"]) == {"&lt;b onmouseover=alert(1)&gt;民生&lt;/b&gt;"}
    assert set(back["section"]) == {"&lt;script&gt;x&lt;/script&gt;&amp;"}
    assert "<script>" not in out.read_text("utf-8").replace("&lt;", "")


def test_writes_go_through_symlinks_and_say_what_they_create(
    mixed: gpd.GeoDataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "dated" / "2025.geojson"
    real.parent.mkdir()
    real.write_text("old", "utf-8")
    link = tmp_path / "latest.geojson"
    link.symlink_to(real)
    assert main(["export", str(REPORT), "-o", str(link)]) == 0
    assert link.is_symlink() and link.resolve() == real  # the link stays, its target is replaced
    assert json.loads(real.read_text("utf-8"))["features"]
    deep = tmp_path / "new" / "sub" / "x.csv"
    capsys.readouterr()
    assert main(["export", str(REPORT), "-o", str(deep)]) == 0
    err = capsys.readouterr().err
    assert f"created folder {tmp_path / 'new'}\n" in err and f"created folder {tmp_path / 'new' / 'sub'}\n" in err
    (tmp_path / "afile").write_text("x")
    bad = tmp_path / "afile" / "sub" / "x.csv"
    assert main(["export", str(REPORT), "-o", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"geoplan: error: {bad}: cannot write csv: {tmp_path / 'afile'} is a file, not a folder"]


@given(
    report=st.text(max_size=60),
    values=st.lists(st.text(min_size=1, max_size=30), max_size=6),
    query=st.text(max_size=30),
)
@hsettings(max_examples=200, deadline=None, database=None)
def test_export_filename_is_always_a_safe_single_name(report: str, values: list[str], query: str) -> None:
    from geoplan.filters import MAX_NAME_CHARS, Filters, export_filename

    filters = Filters(domains=tuple(values[:3]), districts=tuple(values[3:]), query=query)
    name = export_filename(report, filters, "gpkg")
    stem = name[: -len(".gpkg")]
    assert name.endswith(".gpkg") and stem and len(stem) <= MAX_NAME_CHARS
    assert not any(c in name for c in '/\\:*?"<>|') and all(ord(c) >= 32 and c != "\x7f" for c in name)
    assert not stem.startswith(".")  # never a hidden file
    assert name == export_filename(report, filters, "gpkg")  # deterministic
