"""The default geocoder: the checked-in gazetteer, offline and cited."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Point

from geoplan.gazetteer import Gazetteer, GazetteerEntry
from geoplan.geocoders.base import Candidate, CityScope, distance_km
from geoplan.models import Location


@dataclass(frozen=True)
class GazetteerGeocoder:
    """Look a canonical name up in the gazetteer; an entry known only to its district gets that district."""

    gazetteer: Gazetteer
    name: str = "gazetteer"

    def geocode(self, query: str) -> Location | None:
        entry = self.gazetteer.by_name.get(query)
        if entry is None:
            return None
        return location_from_entry(entry, self.gazetteer)

    def candidates(
        self, query: str, *, city: CityScope | None = None, centre: Point | None = None
    ) -> tuple[Candidate, ...]:
        """The gazetteer's own entry for ``query`` when it has a point or shape there; else nothing."""
        loc = self.geocode(query)
        if loc is None or loc.geometry is None or (city is not None and not city.covers(loc.geometry)):
            return ()
        point = loc.geometry if isinstance(loc.geometry, Point) else loc.geometry.representative_point()
        centre = centre if centre is not None else (city.centre if city is not None else None)
        return (
            Candidate(
                name=loc.name,
                kind=loc.kind,
                geometry=point,
                address=loc.district or "",
                provider=self.name,
                raw={"source": loc.source},
                datum=loc.datum,
                distance_km=None if centre is None else round(distance_km(centre, point), 3),
                converted_from=loc.converted_from,
            ),
        )


def location_from_entry(entry: GazetteerEntry, gazetteer: Gazetteer) -> Location:
    geometry = entry.geometry
    source = entry.source
    source_url = entry.source_url
    precision = entry.precision
    district = entry.district
    if geometry is None and entry.district and entry.district in gazetteer.by_name:
        # Known only to lie in a district: the district's own boundary, with district precision.
        unit = gazetteer.by_name[entry.district]
        geometry = unit.geometry
        precision = "district"
        source = f"{entry.source}; geometry: boundary of {unit.name} ({unit.source})"
    elif geometry is None:
        # Neither a geometry nor a known district: the place is named, but nobody has located it yet.
        precision = "unlocated"
    elif district is None:
        district = (
            entry.name if entry.kind in ("district", "county", "county_city") else gazetteer.district_of(geometry)
        )
    return Location(
        name=entry.name,
        kind=entry.kind,
        geometry=geometry,
        precision=precision,
        source=source,
        confidence=entry.confidence,
        geocoder="gazetteer",
        source_url=source_url,
        datum=entry.datum,
        converted_from=entry.converted_from,
        status=entry.status,
        district=district,
    )
