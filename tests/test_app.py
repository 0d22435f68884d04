"""The app's logic through Streamlit's AppTest: filters, counts, table, query parameters, downloads."""

from __future__ import annotations

import json
import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from geoplan.filters import filter_features
from geoplan.features import check_rfc7946

from conftest import ROOT

APP = str(ROOT / "streamlit_app.py")


def _app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


COUNTS = re.compile(r'data-testid="gp-counts">(?P<line>[^<]*)<')


def _counts_line(at: AppTest) -> str:
    return next(m["line"] for h in at.get("html") if (m := COUNTS.search(h.proto.body)))


def _counts(at: AppTest) -> dict[str, int]:
    """The header's one line of item counts, e.g. "39 项 · 已定位 7 · 全市范围 27 · 未定位 5"."""
    line = _counts_line(at).split("（")[0].split(" (")[0]
    zh = re.fullmatch(r"(\d+) 项 · 已定位 (\d+) · 全市范围 (\d+) · 未定位 (\d+)", line)
    en = re.fullmatch(r"(\d+) items · (\d+) located · (\d+) city-wide · (\d+) not located", line)
    n, located, city, unlocated = map(int, (zh or en).groups())  # type: ignore[union-attr]
    assert located + city + unlocated == n
    return {"items": n, "located": located, "city": city, "unlocated": unlocated}


def _qp(at: AppTest, key: str) -> list[str]:
    v = at.query_params.get(key, [])
    return list(v) if isinstance(v, list | tuple) else [v]


def _tab_container_id(at: AppTest) -> str:
    """The id of the tabs under the map (the one stateful tab container), as the browser addresses it."""
    from streamlit.proto.Block_pb2 import Block

    ids = [b.id for b in _blocks(at._tree) if isinstance(b, Block) and b.HasField("tab_container") and b.id]
    return ids[0]


def _blocks(node):
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield proto
    for child in getattr(node, "children", {}).values():
        yield from _blocks(child)


def _open(at: AppTest, name: str) -> AppTest:
    """Click the tab ``name`` (list, table, targets, downloads, missing, placed): the browser sends the tab
    container's new label as its widget value and the app reruns (only the open tab is computed)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    index = ["list", "table", "targets", "downloads", "missing", "placed"].index(name)
    if at.session_state.get("tab", "list") == name:
        return at
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=_tab_container_id(at), string_value=at.tabs[index].label))
    at._run(states)
    assert at.session_state["tab"] == name
    return at


def _table(at: AppTest) -> pd.DataFrame:
    return _open(at, "table").dataframe[0].value


def _table_rows(at: AppTest) -> int:
    return len(_table(at))


def _html(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.get("html"))


def test_default_view_shows_everything(gdf):
    at = _app()
    assert not at.exception
    c = _counts(at)
    assert c["items"] == gdf["item_id"].nunique() == 39
    assert c["located"] == gdf.loc[gdf.geometry.notna(), "item_id"].nunique()
    assert _counts_line(at) == "39 项 · 已定位 7 · 全市范围 27 · 未定位 5"  # items only, adding up
    # City-wide and unlocated items: one line each (no expanders), in the first tab under the map.
    unplaced = gdf[gdf.geometry.isna()]["item_id"].nunique()
    assert at.tabs[0].label == f"全市范围与未定位（{unplaced}）"
    assert _html(at).count("<details>") == unplaced
    assert len(at.expander) == 0
    assert _table_rows(at) == len(gdf)


def test_only_the_open_tab_is_computed_and_sent(gdf):
    """A closed tab sends nothing (the table was 2.3 MB of Arrow on every visit at 10k places); the open tab
    stays open when a filter changes the tabs' labels (their counts)."""
    at = _app()
    assert not at.dataframe and not at.get("vega_lite_chart") and not at.get("download_button")
    assert "<details>" in _html(at) and "data-gp-fid" not in _html(at)
    _open(at, "placed")
    assert "data-gp-fid" in _html(at) and "<details>" not in _html(at) and not at.dataframe
    label = at.tabs[5].label
    at.multiselect(key="f_domains").set_value(["民生"]).run()
    assert at.tabs[5].label != label  # a new label, so a new widget: the tab open is kept by name
    assert "data-gp-fid" in _html(at) and "<details>" not in _html(at)
    _open(at, "table")
    assert len(at.dataframe) == 1 and "data-gp-fid" not in _html(at) and "<details>" not in _html(at)
    _open(at, "list")
    assert not at.dataframe and "<details>" in _html(at)
    # A box ticked in the downloads tab stays ticked when another tab is opened and this one again.
    _open(at, "downloads").checkbox(key="dl_unlocated").check().run()
    _open(at, "table")
    assert at.session_state["dl_unlocated"] is True
    assert _open(at, "downloads").checkbox(key="dl_unlocated").value is True


def test_domain_filter_changes_counts_table_and_url(gdf):
    at = _app()
    at.multiselect(key="f_domains").set_value(["民生"]).run()
    expected = gdf[gdf["domain"] == "民生"]
    assert _counts(at)["items"] == expected["item_id"].nunique()
    assert "（已筛选，全部 39 项）" in _counts_line(at)
    assert _table_rows(at) == len(expected)
    assert set(_table(at)["领域"]) == {"民生"}
    assert _qp(at, "domain") == ["民生"]


def _chart_rows(at: AppTest) -> pd.DataFrame:
    """The items-per-domain chart's data, as the browser receives it (Arrow inside the Vega-Lite element)."""
    import pyarrow as pa

    proto = _open(at, "targets").get("vega_lite_chart")[0].proto
    return pa.ipc.open_stream(proto.data.data).read_all().to_pandas()


def test_the_chart_follows_the_filters(gdf):
    """The chart counted the whole report whatever the sidebar chose (#13: everything obeys one filter)."""
    at = _app()
    rows = _chart_rows(at)
    assert rows["items"].sum() == gdf["item_id"].nunique()
    assert set(rows["domain"]) == set(gdf["domain"])
    at.multiselect(key="f_domains").set_value(["民生"]).run()
    rows = _chart_rows(at)
    assert set(rows["domain"]) == {"民生"}
    assert rows["items"].sum() == gdf.loc[gdf["domain"] == "民生", "item_id"].nunique() == _counts(at)["items"]


def test_text_search_and_status_filter(gdf):
    at = _app()
    at.text_input(key="f_query").set_value("迎泽西大街").run()
    assert _counts(at)["items"] == 1
    at.text_input(key="f_query").set_value("").run()
    at.multiselect(key="f_statuses").set_value(["starting"]).run()
    assert _table_rows(at) == int((gdf["status"] == "starting").sum())
    assert _qp(at, "status") == ["starting"]


def test_query_params_reproduce_the_view(gdf):
    at = _app(domain=["环境", "民生"], precision=["district"], q="")
    assert at.multiselect(key="f_domains").value == ["环境", "民生"]
    expected = filter_features(gdf, domains=("环境", "民生"), precisions=("district",))
    assert _table_rows(at) == len(expected)
    assert _counts(at)["items"] == expected["item_id"].nunique()
    assert _qp(at, "precision") == ["district"]


def test_stale_link_values_are_ignored(gdf):
    at = _app(domain=["不存在的领域"], lang="en")
    assert not at.exception
    assert _counts(at)["items"] == 39
    assert _table_rows(at) == len(gdf)
    assert at.radio(key="lang").value == "en"


def test_english_switch():
    at = _app()
    at.radio(key="lang").set_value("en").run()
    assert _counts_line(at) == "39 items · 7 located · 27 city-wide · 5 not located"
    assert _qp(at, "lang") == ["en"]


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_english_page_translates_columns_vocabulary_and_districts(gdf):
    at = _app(lang="en")
    table = _table(at)
    assert list(table.columns) == [
        "Domain",
        "Section",
        "Status",
        "Place",
        "Gazetteer name",
        "Precision",
        "District",
        "Report sentence",
        "IATI precision code",
    ]
    # Statuses, precisions and districts in English; the report's own words (domain, sentence) stay.
    for col in ("Status", "Precision", "District", "IATI precision code"):
        assert not any(CJK.search(str(v)) for v in table[col]), col
    assert "Wanbailin District" in set(table["District"])
    assert "Taiyuan" in set(table["Gazetteer name"]) and "太原市" not in set(table["Gazetteer name"])
    assert any(v.startswith("in ") and v.endswith("District") for v in table["Precision"])
    assert "None" not in table.astype(str).to_numpy() and not table.isna().any().any()
    targets = _open(at, "targets").dataframe[0].value
    assert list(targets.columns) == ["Indicator", "Target", "Unit", "Qualifier"]
    assert not any(CJK.search(str(v)) for col in ("Target", "Unit", "Qualifier") for v in targets[col])
    # Widget labels and placeholders in English too.
    assert at.multiselect(key="f_domains").label == "Domain"
    assert at.multiselect(key="f_domains").placeholder == "All (choose to narrow)"
    assert [at.multiselect(key="f_statuses").format_func(s) for s in ["completing"]] == ["to be completed"]
    # The report's domains keep their own words, with the vocabulary's English gloss beside them.
    assert at.multiselect(key="f_domains").format_func("民生") == "民生 · People's wellbeing"
    domains = set(table["Domain"])
    assert (
        domains
        == {
            "城乡融合发展 · Urban-rural integration",
            "民生 · People's wellbeing",
            "消费 · Consumption",
            "环境 · Environment",
        }
        & domains
        and len(domains) >= 3
    )


def test_chinese_page_has_chinese_widget_texts_and_no_none():
    at = _app()
    for ms in at.multiselect:
        assert ms.placeholder == "全部（可多选）"
        assert not ms.proto.select_all if hasattr(ms.proto, "select_all") else True
    uploader = at.get("file_uploader")[0]
    assert uploader.proto.label == "上传其他报告（.txt）" and CJK.search(uploader.proto.help)
    table = _table(at)
    assert list(table.columns)[:3] == ["领域", "板块", "进度"]
    assert "None" not in table.astype(str).to_numpy()
    assert "附近（25公里内）" not in set(table["定位精度"]) and "大致位置" in set(table["定位精度"])
    assert "建成投用" in set(table["进度"])
    # Streamlit's uploader words come from a static CSS file, in Chinese only.
    styles = "".join(m.value for m in at.markdown)
    assert 'content: "选择文件"' in styles and "每个文件不超过 2 MB" in styles
    assert 'content: "选择文件"' not in "".join(m.value for m in _app(lang="en").markdown)


def test_filters_that_match_nothing_say_so_and_offer_to_clear(gdf):
    at = _app(q="没有这样的事项")
    assert _counts(at)["items"] == 0
    assert any("没有符合当前筛选条件的事项" in i.value for i in at.info)
    assert _table_rows(at) == 0
    at.button(key="reset_empty").click().run()
    assert _counts(at)["items"] == 39
    assert not at.info


def test_filters_with_no_place_on_the_map_say_so():
    at = _app(precision=["city"], lang="en")
    assert any("Nothing the current filters show has a place" in i.value for i in at.info)


def test_a_report_without_places_says_so(data_dir):
    at = AppTest.from_file(APP, default_timeout=90)
    path = data_dir / "bad" / "no-place.txt"
    at.session_state["report"] = (path.read_bytes(), path.name)
    at.run()
    assert not at.exception
    assert any("没有提到地名库中的任何地点" in i.value for i in at.info)
    assert _counts(at) == {"items": 2, "located": 0, "city": 2, "unlocated": 0}


def test_reset_clears_filters(gdf):
    at = _app(domain=["民生"])
    at.button[0].click().run()
    assert _table_rows(at) == len(gdf)


def test_downloads_hold_the_features_shown(gdf):
    at = _app(domain=["环境"])
    labels = [b.proto.label for b in _open(at, "downloads").get("download_button")]
    assert labels == ["GEOJSON", "GPKG", "KML", "CSV"]
    # The bytes offered are export_bytes of the filtered frame: check that frame's GeoJSON.
    from geoplan.export import export_bytes

    shown = filter_features(gdf, domains=("环境",))
    doc = json.loads(export_bytes(shown, "geojson"))
    assert check_rfc7946(doc) == []
    assert {f["properties"]["domain"] for f in doc["features"]} == {"环境"}
    assert len(doc["features"]) == _table_rows(at)


def test_targets_panel():
    at = _app()
    targets = _open(at, "targets").dataframe[0].value
    assert list(targets.columns) == ["指标", "目标值", "单位", "说明"]
    assert "城镇新增就业" in set(targets["指标"])
    assert "None" not in targets.astype(str).to_numpy()


def test_corrections_are_applied_and_listed(gdf, _data_dir):
    from geoplan.corrections import CorrectionStore

    item = gdf[gdf["precision"] == "city"].iloc[0]
    CorrectionStore.in_data_dir(_data_dir).add(
        item["item_id"], "POINT (112.55 37.87)", note="市政府所在地", author="测试"
    )
    at = _app()
    assert _counts(at)["located"] == gdf.loc[gdf.geometry.notna(), "item_id"].nunique() + 1
    at.toggle(key="edit").set_value(True).run()
    assert not at.exception
    assert "校正位置" in [h.value for h in at.subheader]
    listed = [t.value for t in at.text if "市政府所在地" in t.value]
    assert listed and item["item_id"] not in listed[0] and item["text"][:10] in listed[0]  # text, not ids
    # Nothing is preselected: saving without a choice, then without a drawing, is refused with a message.
    assert at.selectbox(key="c_target").value is None
    assert item["item_id"] not in at.selectbox(key="c_target").format_func(0)
    at.text_input(key="c_note").set_value("试试")  # inside a form: sent with the submit
    at.button(key="FormSubmitter:correction-保存校正").click().run()
    assert any("请先选择要校正的事项" in e.value for e in at.error)
    at.selectbox(key="c_target").set_value(0)
    at.text_input(key="c_note").set_value("试试")
    at.button(key="FormSubmitter:correction-保存校正").click().run()
    assert any("请先在地图上画出位置" in e.value for e in at.error)
    assert at.text_input(key="c_note").value == "试试"  # a refused form keeps what was typed


def test_orphan_corrections_are_reported(_data_dir):
    from geoplan.corrections import CorrectionStore

    CorrectionStore.in_data_dir(_data_dir).add("it-0000000000", "POINT (112.55 37.87)", note="旧版本的事项")
    at = _app()
    assert any("it\\-0000000000" in w.value or "it-0000000000" in w.value for w in at.warning)


def test_downloads_offer_located_features_unless_asked():
    at = _open(_app(domain=["民生"]), "downloads")
    box = next(c for c in at.checkbox if c.key == "dl_unlocated")
    assert box.value is False  # located features by default
    box.check().run()
    assert not at.exception
    assert [b.proto.label for b in _open(at, "downloads").get("download_button")] == ["GEOJSON", "GPKG", "KML", "CSV"]


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
    at = _open(_app(), "downloads")
    before = drawn(row["name"])
    assert shapely.geometry.shape(before[row["fid"]]).equals_exact(row.geometry, 1e-6)
    moved = shapely.Point(row.geometry.x + 0.01, row.geometry.y - 0.005)
    CorrectionStore.in_data_dir(_data_dir).add(
        row["item_id"], moved.wkt, place=row["name"], note="东站房在铁路东侧", author="测试"
    )
    at.run()
    assert not at.exception
    after = drawn(row["name"])
    assert set(after) == set(before)  # the same fids ...
    assert shapely.geometry.shape(after[row["fid"]]).equals_exact(moved, 1e-6)  # ... at the corrected place


class _Upload:
    """What ``st.file_uploader`` returns for one file (AppTest cannot upload one)."""

    def __init__(self, path) -> None:
        self.name, self.file_id, self._data = path.name, f"test-{path.name}", path.read_bytes()

    def getvalue(self) -> bytes:
        return self._data


def test_an_upload_is_kept_by_hash_and_a_link_reopens_it(_data_dir, data_dir, monkeypatch):
    import hashlib

    from streamlit.delta_generator import DeltaGenerator

    path = data_dir / "shapes" / "gujiao.txt"
    upload = _Upload(path)
    real = DeltaGenerator.file_uploader
    monkeypatch.setattr(
        DeltaGenerator,
        "file_uploader",
        lambda self, *a, **k: upload if k.get("key") == "upload" else real(self, *a, **k),
    )
    at = _app()
    assert not at.exception
    sha = hashlib.sha1(path.read_bytes()).hexdigest()
    assert _qp(at, "report") == [sha]
    assert (_data_dir / "reports" / f"{sha}.txt").read_bytes() == path.read_bytes()
    line, head = _counts_line(at), _html(at)
    assert "<h1>gujiao</h1>" in head and _counts(at)["items"] != 39  # the upload, not the default report
    monkeypatch.setattr(DeltaGenerator, "file_uploader", real)

    shared = _app(report=sha, domain=_qp(at, "domain"))  # a fresh session opening the shared link
    assert not shared.exception and not shared.warning
    assert _counts_line(shared) == line and "<h1>gujiao</h1>" in _html(shared)
    assert _qp(shared, "report") == [sha]


def test_an_upload_the_server_cannot_keep_is_shown_with_a_notice(tmp_path, data_dir, monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    blocked = tmp_path / "file"
    blocked.write_text("a file where the data dir should be")
    monkeypatch.setenv("GEOPLAN_DATA_DIR", str(blocked))
    upload = _Upload(data_dir / "shapes" / "gujiao.txt")
    real = DeltaGenerator.file_uploader
    monkeypatch.setattr(
        DeltaGenerator,
        "file_uploader",
        lambda self, *a, **k: upload if k.get("key") == "upload" else real(self, *a, **k),
    )
    at = _app()
    assert not at.exception
    assert "<h1>gujiao</h1>" in _html(at) and "report" not in at.query_params
    notices = " ".join(w.value for w in at.warning)
    assert "无法保存在服务器上" in notices and str(blocked) not in notices  # no server path for a visitor


def test_a_bad_or_missing_report_hash_falls_back_to_the_default_with_a_notice(_data_dir):
    for sha, notice in (
        ("../../etc/passwd", "链接中的报告编号无效"),
        ("ABC", "链接中的报告编号无效"),
        ("0" * 40, "链接中的报告已不在本服务器上"),
    ):
        at = _app(report=sha)
        assert not at.exception
        assert [w.value for w in at.warning if notice in w.value], sha
        assert _counts(at)["items"] == 39
        assert _qp(at, "report") == [[]] or "report" not in at.query_params  # the bad id is dropped


def _map_args(at: AppTest) -> dict:
    return json.loads(at.get("component_instance")[0].proto.json_args)


def test_a_linked_view_opens_at_its_centre_zoom_and_popup(gdf):
    fid = gdf.loc[gdf["name"] == "迎泽西大街", "fid"].iloc[0]
    view = _app(lat="37.8601", lon="112.5102", z="14")
    assert not view.exception
    assert _map_args(view)["center"] == [37.8601, 112.5102] and _map_args(view)["zoom"] == 14
    at = _app(lat="37.8601", lon="112.5102", z="14", sel=fid)
    assert not at.exception
    args = _map_args(at)
    assert f'"selected":"{fid}"' in args["feature_group"]  # the map opens that feature's popup, and shows it
    assert args["center"] is None
    at.multiselect(key="f_domains").set_value([gdf.loc[gdf["fid"] == fid, "domain"].iloc[0]]).run()
    assert [_qp(at, k) for k in ("lat", "lon", "z", "sel")] == [["37.8601"], ["112.5102"], ["14"], [fid]]
    assert f'"selected":"{fid}"' in _map_args(at)["feature_group"]
    # A view out of range, and a feature the report lacks, are ignored.
    bad = _app(lat="137", lon="112.5", z="14", sel="no-such-fid")
    assert not bad.exception
    assert _map_args(bad)["center"] is None and '"selected":null' in _map_args(bad)["feature_group"]


def _post_from_map(at: AppTest, value: dict) -> AppTest:
    """Rerun as after the map's script posted ``value`` (streamlit:setComponentValue): the frontend sends the
    component's new value in the widget states, as it does for any widget. AppTest has no setter for a custom
    component, so the state is appended to what it would send (its private ``_tree``/``_run``)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=at.get("component_instance")[0].proto.id, json_value=json.dumps(value)))
    return at._run(states)


def _view_state(at: AppTest) -> dict:
    """The state in the view script the map runs (geoplan.view(map, {...}))."""
    return json.loads(re.search(r"geoplan\.view\([^,]+, (\{.*\})\);", _map_args(at)["feature_group"])[1])


def test_the_layer_control_offers_the_domains():
    """The map's layer control filters the domains again (it posts them to the app: geoplan.js)."""
    from test_maps import overlay_names

    at = _app()
    overlays = overlay_names(_map_args(at)["script"])
    # The boundaries' name is in both languages (the map switches in place: geoplan.setLang).
    assert any("区县边界" in o for o in overlays)
    for domain in ("城乡融合发展", "环境", "民生"):  # the report's word; its English gloss in the hidden span
        assert any(
            o.startswith(f'<span class="gp-l-zh">{domain}</span><span class="gp-l-en">{domain} · ') for o in overlays
        )
    assert _view_state(at) | {"key": None} == {
        "fids": None,
        "selected": None,
        "key": None,
        "domains": [],
        "q": "",
        "seq": 0,
        "lang": "zh",  # the map holds both languages; the view says which
    }


def test_a_domain_unticked_on_the_map_filters_counts_table_and_url(gdf):
    at = _app()
    domains = list(dict.fromkeys(gdf.loc[gdf.geometry.notna(), "domain"]))
    kept = [d for d in domains if d != "民生"]
    at = _post_from_map(at, {"geoplan": {"domains": kept, "q": "", "seq": 1}})
    assert not at.exception
    expected = gdf[gdf["domain"].isin(kept)]
    assert at.multiselect(key="f_domains").value == kept
    assert _counts(at)["items"] == expected["item_id"].nunique()
    assert _table_rows(at) == len(expected)
    assert _qp(at, "domain") == kept
    # The view says what was applied and which post: the map sets its ticks to it and does not post again.
    state = _view_state(at)
    assert (state["domains"], state["q"], state["seq"]) == (kept, "", 1)
    # Its fids leave the domains to the layer control: a domain ticked again shows its places at once.
    assert state["fids"] is None
    # A post already applied (a rerun's value again), streamlit-folium's own value, or a malformed one
    # change nothing.
    for stale in (
        {"geoplan": {"domains": ["民生"], "q": "", "seq": 1}},
        {"last_active_drawing": None},
        {"geoplan": {"domains": "民生", "q": "", "seq": 2}},
        {"geoplan": {"domains": ["民生"], "q": 3, "seq": 2}},
    ):
        at = _post_from_map(at, stale)
        assert not at.exception
        assert _qp(at, "domain") == kept and _view_state(at)["seq"] == 1, stale
    # Every layer ticked: no domain filter at all.
    at = _post_from_map(at, {"geoplan": {"domains": None, "q": "", "seq": 2}})
    assert at.multiselect(key="f_domains").value == [] and "domain" not in at.query_params
    assert _counts(at)["items"] == 39 and _view_state(at)["seq"] == 2


def test_the_map_find_box_drives_the_search_text(gdf):
    at = _app()
    at = _post_from_map(at, {"geoplan": {"domains": None, "q": " 万柏林 ", "seq": 1}})
    assert not at.exception
    assert at.text_input(key="f_query").value == "万柏林"
    assert _qp(at, "q") == ["万柏林"]
    # As the map's find box does: a place in 万柏林区 is found by its district too.
    expected = filter_features(gdf, query="万柏林")
    assert (gdf.loc[expected.index, "district"] == "万柏林区").any()
    assert _table_rows(at) == len(expected)
    assert _view_state(at)["q"] == "万柏林"


def test_a_sidebar_change_is_sent_to_the_map_controls(gdf):
    at = _app()
    at = _post_from_map(at, {"geoplan": {"domains": ["环境", "民生"], "q": "", "seq": 4}})
    at.multiselect(key="f_domains").set_value(["民生"]).run()
    at.text_input(key="f_query").set_value("桥").run()
    state = _view_state(at)
    # The map's ticks and find box follow; seq is still the last post, so the map takes it as the app's.
    assert (state["domains"], state["q"], state["seq"]) == (["民生"], "桥", 4)


def test_map_filters_reads_only_a_newer_well_formed_post():
    from geoplan.app_map import MapFilters, map_filters

    ok = {"geoplan": {"domains": ["民生"], "q": " 桥 ", "seq": 3}, "last_active_drawing": None}
    assert map_filters(ok, 2) == MapFilters(("民生",), "桥", 3)
    assert map_filters(ok, 3) is None
    assert map_filters({"geoplan": {"domains": None, "q": "", "seq": 1}}, 0) == MapFilters(None, "", 1)
    for bad in (
        None,
        [],
        {},
        {"geoplan": 1},
        {"geoplan": {"seq": True}},
        {"geoplan": {"seq": "4", "q": ""}},
        {"geoplan": {"seq": 4, "domains": [1]}},
        {"geoplan": {"seq": 4, "q": None}},
    ):
        assert map_filters(bad, 0) is None, bad


def _component_app(cached: bool) -> None:
    import folium
    from streamlit_folium import st_folium

    from geoplan.app_map import render_map, show_map
    from geoplan.maps import MapView

    m = folium.Map(location=[37.8, 112.5], zoom_start=10, tiles=None)
    folium.Marker([37.8, 112.5], tooltip="太原").add_to(m)
    view = [MapView(["a-1"], selected="a-1")]
    kw = {"height": 560, "feature_group_to_add": view, "center": (37.8, 112.5), "zoom": 12, "returned_objects": []}
    if cached:
        show_map(render_map(m, "map"), **kw)
    else:
        st_folium(m, key="map", use_container_width=True, render=False, **kw)


def test_the_cached_map_sends_what_st_folium_sends():
    """app_map renders the map once and hands streamlit-folium's component the arguments st_folium would."""
    sent = []
    for cached in (False, True):
        at = AppTest.from_function(_component_app, args=(cached,), default_timeout=60).run()
        assert not at.exception
        sent.append(_map_args(at))
    assert sent[0].keys() == sent[1].keys()
    for k in sent[0]:
        assert sent[0][k] == sent[1][k], k
    assert '"selected":"a-1"' in sent[1]["feature_group"]


def test_a_filter_change_keeps_the_map_script_and_sends_only_the_view(gdf):
    """The map is rendered once per report, basemap and mode: a filter or the language changes the view only."""
    at = _app()
    before = _map_args(at)
    domain = sorted(set(gdf["domain"]))[0]
    at.multiselect(key="f_domains").set_value([domain]).run()
    assert not at.exception
    after = _map_args(at)
    assert after["script"] == before["script"] and after["feature_group"] != before["feature_group"]
    # The domains go to the layer control's ticks; the fids carry the other filters.
    assert _view_state(at)["domains"] == [domain] and _view_state(at)["fids"] is None
    at.multiselect(key="f_statuses").set_value(["starting"]).run()
    fids = set(gdf.loc[(gdf["status"] == "starting") & gdf.geometry.notna(), "fid"])
    assert set(_view_state(at)["fids"]) == fids and _map_args(at)["script"] == before["script"]
    at.radio(key="lang").set_value("en").run()
    # One map for both languages: the switch sends a view in English, not a new map (tests/test_map_lang.py).
    assert _map_args(at)["script"] == before["script"] and '"lang":"en"' in _map_args(at)["feature_group"]


def test_the_list_of_items_on_the_map_follows_the_filters(gdf):
    """Each line carries its feature's id, which the map's script highlights on hover (tests/test_browser.py)."""
    at = _open(_app(), "placed")
    located = gdf[gdf.geometry.notna()]
    assert at.tabs[5].label == f"地图上的事项（{located['fid'].nunique()}）"
    domain = sorted(set(located["domain"]))[0]
    at.multiselect(key="f_domains").set_value([domain]).run()
    fids = set(located.loc[located["domain"] == domain, "fid"])
    assert at.tabs[5].label == f"地图上的事项（{len(fids)}）"
    assert set(re.findall(r'data-gp-fid="([^"]+)"', _html(at))) == fids
