"""bench/generate.py's distinct-place sets: seeded, every row its own place, inside Taiyuan, real shapes."""

from __future__ import annotations

import sys

import shapely

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import distinct_features, generate_features  # noqa: E402

from geoplan.gazetteer import load_gazetteer  # noqa: E402


def test_distinct_features_are_seeded_distinct_and_inside_taiyuan():
    gaz = load_gazetteer()
    shared = generate_features(300, 5, gazetteer=gaz)
    a = distinct_features(300, 5, gazetteer=gaz)
    b = distinct_features(300, 5, gazetteer=gaz)
    geoms = a.geometry.values
    assert len(a) == 300
    assert list(shapely.to_wkb(geoms)) == list(shapely.to_wkb(b.geometry.values))  # same seed, same set
    assert len(set(shapely.to_wkb(geoms))) == 300  # no two rows share a place
    gazetteer_shapes = {shapely.to_wkb(e.geometry) for e in gaz.entries if e.geometry is not None}
    assert set(shapely.to_wkb(shared.geometry.values)) <= gazetteer_shapes  # where the shapes came from
    assert shapely.contains(gaz.city.geometry, geoms).all()
    assert shapely.is_valid(geoms).all()
    # Each row keeps its kind of geometry and its vertex count: the seed's proportions and real shapes.
    assert list(a.geom_type) == list(shared.geom_type)
    assert list(shapely.get_num_coordinates(geoms)) == list(shapely.get_num_coordinates(shared.geometry.values))
    assert a["name"].is_unique
    other = distinct_features(300, 6, gazetteer=gaz)
    assert not shapely.equals_exact(other.geometry.values, geoms, 0).all()
