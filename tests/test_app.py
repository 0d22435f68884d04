"""The app's logic through Streamlit's AppTest: filters, counts, table, query parameters, downloads."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from geoplan.export import filter_features
from geoplan.features import check_rfc7946

from conftest import ROOT

APP = str(ROOT / "streamlit_app.py")


def _app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _metrics(at: AppTest) -> dict[str, int]:
    return {m.label: int(m.value) for m in at.metric}


def _qp(at: AppTest, key: str) -> list[str]:
    v = at.query_params.get(key, [])
    return list(v) if isinstance(v, list | tuple) else [v]


def _table_rows(at: AppTest) -> int:
    return len(at.dataframe[0].value)


def test_default_view_shows_everything(gdf):
    at = _app()
    assert not at.exception
    m = _metrics(at)
    assert m["显示要素"] == len(gdf)
    assert m["事项"] == gdf["item_id"].nunique() == 39
    assert m["已定位"] == int(gdf.geometry.notna().sum())
    assert _table_rows(at) == len(gdf)
    # City-wide and unlocated items are listed beside the map.
    assert len(at.expander) == gdf[gdf.geometry.isna()]["item_id"].nunique()


def test_domain_filter_changes_counts_table_and_url(gdf):
    at = _app()
    at.multiselect(key="f_domains").set_value(["民生"]).run()
    expected = gdf[gdf["domain"] == "民生"]
    assert _metrics(at)["显示要素"] == len(expected)
    assert _table_rows(at) == len(expected)
    assert set(at.dataframe[0].value["领域"]) == {"民生"}
    assert _qp(at, "domain") == ["民生"]


def test_text_search_and_status_filter(gdf):
    at = _app()
    at.text_input(key="f_query").set_value("迎泽西大街").run()
    assert _metrics(at)["事项"] == 1
    at.text_input(key="f_query").set_value("").run()
    at.multiselect(key="f_statuses").set_value(["starting"]).run()
    assert _metrics(at)["显示要素"] == int((gdf["status"] == "starting").sum())
    assert _qp(at, "status") == ["starting"]


def test_query_params_reproduce_the_view(gdf):
    at = _app(domain=["环境", "民生"], precision=["district"], q="")
    assert at.multiselect(key="f_domains").value == ["环境", "民生"]
    expected = filter_features(gdf, domains=("环境", "民生"), precisions=("district",))
    assert _metrics(at)["显示要素"] == len(expected)
    assert _qp(at, "precision") == ["district"]


def test_stale_link_values_are_ignored(gdf):
    at = _app(domain=["不存在的领域"], lang="en")
    assert not at.exception
    assert _metrics(at)["Features shown"] == len(gdf)
    assert at.radio(key="lang").value == "en"


def test_english_switch():
    at = _app()
    at.radio(key="lang").set_value("en").run()
    assert "Features shown" in _metrics(at)
    assert _qp(at, "lang") == ["en"]


def test_reset_clears_filters(gdf):
    at = _app(domain=["民生"])
    at.button[0].click().run()
    assert _metrics(at)["显示要素"] == len(gdf)


def test_downloads_hold_the_features_shown(gdf):
    at = _app(domain=["环境"])
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["GEOJSON", "GPKG", "KML", "CSV"]
    # The bytes offered are export_bytes of the filtered frame: check that frame's GeoJSON.
    from geoplan.export import export_bytes

    shown = filter_features(gdf, domains=("环境",))
    doc = json.loads(export_bytes(shown, "geojson"))
    assert check_rfc7946(doc) == []
    assert {f["properties"]["domain"] for f in doc["features"]} == {"环境"}
    assert len(doc["features"]) == _metrics(at)["显示要素"]


def test_targets_panel():
    at = _app()
    frames = [df.value for df in at.dataframe]
    targets = next(f for f in frames if "name" in f.columns and "unit" in f.columns)
    assert "城镇新增就业" in set(targets["name"])


def test_corrections_are_applied_and_listed(gdf, _data_dir):
    from geoplan.corrections import CorrectionStore

    item = gdf[gdf["precision"] == "city"].iloc[0]
    CorrectionStore.in_data_dir(_data_dir).add(item["item_id"], "POINT (112.55 37.87)", note="市政府所在地",
                                               author="测试")
    at = _app()
    assert _metrics(at)["已定位"] == int(gdf.geometry.notna().sum()) + 1
    at.toggle(key="edit").set_value(True).run()
    assert not at.exception
    assert any("市政府所在地" in t.value for t in at.text)
    # Saving without a drawing is refused with a message.
    at.text_input(key="c_note").set_value("试试").run()
    at.button(key="FormSubmitter:correction-保存校正").click().run()
    assert any("请先在地图上画出位置" in e.value for e in at.error)


def test_orphan_corrections_are_reported(_data_dir):
    from geoplan.corrections import CorrectionStore

    CorrectionStore.in_data_dir(_data_dir).add("it-0000000000", "POINT (112.55 37.87)", note="旧版本的事项")
    at = _app()
    assert any("it\\-0000000000" in w.value or "it-0000000000" in w.value for w in at.warning)


def test_downloads_offer_located_features_unless_asked():
    at = _app(domain=["民生"])
    box = next(c for c in at.checkbox if c.key == "dl_unlocated")
    assert box.value is False  # located features by default
    box.check().run()
    assert not at.exception
    assert [b.proto.label for b in at.get("download_button")] == ["GEOJSON", "GPKG", "KML", "CSV"]


def test_download_after_a_correction_holds_the_corrected_place(gdf, _data_dir, monkeypatch):
    """A correction that moves a place keeps every fid: the export offered after saving it must change."""
    import shapely
    from streamlit.runtime.media_file_manager import MediaFileManager

    from geoplan.corrections import CorrectionStore

    offered: dict[str, object] = {}  # file name -> the callable the download button runs on click
    add_deferred = MediaFileManager.add_deferred

    def record(self, data, mimetype, coordinates, file_name=None, **kwargs):
        offered[file_name] = data
        return add_deferred(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)

    def drawn(name: str) -> dict[str, object]:
        doc = json.loads(next(f for n, f in offered.items() if n.endswith(".geojson"))())
        return {f["properties"]["fid"]: f["geometry"] for f in doc["features"] if f["properties"]["name"] == name}

    row = gdf[gdf["name"] == "太原火车站东站房"].iloc[0]
    at = _app()
    before = drawn(row["name"])
    assert shapely.geometry.shape(before[row["fid"]]).equals_exact(row.geometry, 1e-6)
    moved = shapely.Point(row.geometry.x + 0.01, row.geometry.y - 0.005)
    CorrectionStore.in_data_dir(_data_dir).add(row["item_id"], moved.wkt, place=row["name"], note="东站房在铁路东侧",
                                               author="测试")
    at.run()
    assert not at.exception
    after = drawn(row["name"])
    assert set(after) == set(before)  # the same fids ...
    assert shapely.geometry.shape(after[row["fid"]]).equals_exact(moved, 1e-6)  # ... at the corrected place
