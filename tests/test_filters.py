"""Filters live in the URL: round trip, stale values, application."""

from __future__ import annotations

import pytest

from geoplan.features import features_from_path
from geoplan.filters import Filters

from conftest import REPORT


@pytest.fixture(scope="module")
def gdf():
    return features_from_path(REPORT)


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
