"""Filters live in the URL: round trip, stale values, application."""

from __future__ import annotations


from geoplan.filters import Filters


def test_query_params_round_trip():
    f = Filters(domains=("民生", "环境"), statuses=("starting",), precisions=("district",), query="桥")
    params = f.to_query_params()
    assert params == {"domain": ["民生", "环境"], "status": ["starting"], "precision": ["district"], "q": "桥"}
    assert Filters.from_query_params(params) == f
    assert Filters.from_query_params({"domain": "民生"}).domains == ("民生",)
    assert Filters().to_query_params() == {} and Filters().is_empty()


def test_stale_values_are_dropped(gdf):
    f = Filters(domains=("民生", "没有这个领域"), kinds=("spring", "volcano")).restricted_to(gdf)
    assert f.domains == ("民生",) and f.kinds == ("spring",)


def test_apply(gdf):
    assert len(Filters().apply(gdf)) == len(gdf)
    springs = Filters(kinds=("spring",)).apply(gdf)
    assert set(springs["name"]) == {"晋祠泉", "兰村泉"}
    # The search covers the report's sentence, so every place of a matching item is shown.
    item = Filters(domains=("环境",), query="晋祠").apply(gdf)
    assert item["item_id"].nunique() == 1 and set(item["name"]) == {"晋祠泉", "兰村泉"}
    assert Filters(domains=("民生",), query="晋祠").apply(gdf).empty


def test_options_are_what_the_data_holds_in_display_order(gdf):
    from geoplan.filters import FilterOptions
    from geoplan.geocoders.base import PRECISION
    from geoplan.models import Status

    opts = FilterOptions.of(gdf)
    assert list(opts.domains) == [d for d in gdf.attrs["report"]["domains"] if d in set(gdf["domain"])]
    assert set(opts.statuses) == set(gdf["status"]) and list(opts.statuses) == [
        s.value for s in Status if s.value in set(gdf["status"])
    ]
    assert list(opts.precisions) == [p for p in PRECISION if p in set(gdf["precision"])]
    assert list(opts.districts) == sorted(gdf["district"].dropna().unique())
    # Sections follow the chosen domains, in report order; none chosen means all of them.
    env = list(dict.fromkeys(gdf.loc[gdf["domain"] == "环境", "section"].dropna()))
    assert opts.sections_of(("环境",)) == env
    assert opts.sections_of(()) == list(dict.fromkeys(gdf["section"].dropna()))
    # Stale values are dropped the same way against the options as against the frame.
    stale = Filters(domains=("民生", "没有这个领域"), kinds=("spring", "volcano"), statuses=("starting", "x"))
    assert stale.restricted_to(opts) == stale.restricted_to(gdf)
    assert stale.restricted_to(opts).statuses == (("starting",) if "starting" in opts.statuses else ())


def test_the_search_finds_a_district_by_its_name_in_either_language(gdf):
    """As the map's find box does (geoplan.js), so the map, the table and the counts agree on a search."""
    in_district = gdf[gdf["district"] == "万柏林区"]
    assert "迎泽西大街" in set(in_district["name"])
    for words in ("万柏林", "wanbailin", "Wanbailin District"):
        found = Filters(query=words).apply(gdf)
        assert set(in_district.index) <= set(found.index), words
    xiaodian = Filters(query="Xiaodian").apply(gdf)
    assert len(xiaodian) and xiaodian["district"].eq("小店区").all()
