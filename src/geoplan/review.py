"""Let planners review online geocoders' candidates for the names the gazetteer lacks.

Nothing online reaches the map unreviewed: a service's answers are listed here (or by
``geoplan geocode-missing``) and only a candidate a planner accepts is stored, as a correction in the
corrections store, whose note names the service, the candidate and when the service was asked. Every
build applies it like any other correction, and it can be undone like one.

``online_panel`` draws the app's "在线候选 / Online suggestions" panel; it is handed the ``streamlit``
module so that this package never imports streamlit itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from geoplan.corrections import Correction, CorrectionStore, check_geometry
from geoplan.errors import CorrectionError, GeoplanError
from geoplan.geocoders.base import Candidate, CityScope, Geocoder

UNRESOLVED_SEP = "；"


@dataclass(frozen=True)
class MissingName:
    """A place name the gazetteer lacks and the items (ids, first sentence) that name it."""

    name: str
    item_ids: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Suggestion:
    """What one service offers for one missing name, nearest the city centre first."""

    missing: MissingName
    candidates: tuple[Candidate, ...]


def missing_names(gdf: pd.DataFrame) -> tuple[MissingName, ...]:
    """Every name in the ``unresolved`` column, in report order, with the items naming it (one pass)."""
    items: dict[str, dict[str, None]] = {}
    texts: dict[str, str] = {}
    if "unresolved" not in gdf.columns:
        return ()
    for item_id, unresolved, text in zip(gdf["item_id"], gdf["unresolved"], gdf["text"], strict=True):
        if not isinstance(unresolved, str):
            continue
        for name in unresolved.split(UNRESOLVED_SEP):
            name = name.strip()
            if name:
                items.setdefault(name, {})[str(item_id)] = None
                texts.setdefault(name, str(text))
    return tuple(MissingName(n, tuple(ids), texts[n]) for n, ids in items.items())


def suggestions(
    names: Iterable[MissingName], geocoder: Geocoder, *, city: CityScope | None = None
) -> Iterator[Suggestion]:
    """Ask ``geocoder`` for each name in turn (lazily, so a failure stops before the next request)."""
    for missing in names:
        yield Suggestion(missing, geocoder.candidates(missing.name, city=city))


def correction_note(name: str, candidate: Candidate) -> str:
    """The stored note: which name, which service and candidate, asked when, accepted by a planner."""
    return f"online candidate accepted by a planner for {name!r}: {candidate.source}"


def accept(store: CorrectionStore, missing: MissingName, candidate: Candidate, *, author: str = "") -> list[Correction]:
    """Store ``candidate`` as the location of ``missing.name`` in each item naming it; return the corrections.

    The geometry is checked once before anything is written (a point far outside the city is refused),
    so either every item gets the correction or none does.
    """
    if not missing.item_ids:
        raise CorrectionError(f"no item names {missing.name!r}; nothing to correct")
    note = correction_note(missing.name, candidate)
    check_geometry(candidate.geometry, city_area=store.city_area)
    return [
        store.add(item_id, candidate.geometry, note=note, author=author, place=missing.name)
        for item_id in missing.item_ids
    ]


def candidate_label(c: Candidate, lang: str = "zh") -> str:
    """One line for a list: name, kind, distance from the city centre, address, service."""
    dist = "?" if c.distance_km is None else f"{c.distance_km:.1f} km"
    kind = c.kind or ("类型不详" if lang == "zh" else "no kind")
    return f"{c.name} · {kind} · {dist} · {c.address or '—'} · {c.provider}"


# -- the app's panel ---------------------------------------------------------------------------------

PANEL_TEXT = {
    "zh": {
        "title": "在线候选 / Online suggestions",
        "service": "在线服务",
        "key": "在线服务密钥（不保存）",
        "none": "地名库缺少的地名都已定位。",
        "name": "缺少的地名",
        "ask": "查询候选",
        "no_candidates": "服务在本市未找到候选。",
        "choose": "候选（按与市中心的距离排序）",
        "author": "署名",
        "accept": "采用此候选",
        "accepted": "已保存为校正：",
        "help": "候选只有经规划人员采用后才会作为校正上图，可在“已保存的校正”中撤销。",
        "items": "涉及事项",
    },
    "en": {
        "title": "在线候选 / Online suggestions",
        "service": "Online service",
        "key": "Service key (not stored)",
        "none": "Every name the gazetteer lacks is located.",
        "name": "Missing name",
        "ask": "Ask for candidates",
        "no_candidates": "The service found nothing in this city.",
        "choose": "Candidates (nearest the city centre first)",
        "author": "Your name",
        "accept": "Accept this candidate",
        "accepted": "Saved as correction:",
        "help": "Candidates reach the map only when a planner accepts one, as a correction that can be undone.",
        "items": "Items",
    },
}


def online_panel(
    st: Any,
    gdf: pd.DataFrame,
    *,
    lang: str,
    city: CityScope,
    store: CorrectionStore,
    make_geocoder: Callable[[str, str | None], Geocoder] | None = None,
) -> None:
    """Draw the planners' "在线候选 / Online suggestions" expander (collapsed) for ``gdf``'s missing names.

    ``make_geocoder(service, key)`` returns the service's geocoder (default: ``geocoder_for`` in ``city``);
    the key comes from the sidebar or the environment (``GEOPLAN_<SERVICE>_KEY``). Answers are kept in the
    session, so a rerun does not ask again (and the disk cache spares the service across sessions).
    """
    from geoplan.geocoders.online import SERVICES, geocoder_for, key_from_env

    if make_geocoder is None:

        def make_geocoder(service: str, key: str | None) -> Geocoder:
            return geocoder_for(service, key=key, city=city)

    t = PANEL_TEXT.get(lang, PANEL_TEXT["en"])
    service = st.sidebar.selectbox(t["service"], list(SERVICES), key="ol_service")
    typed = st.sidebar.text_input(t["key"], type="password", key="ol_key")
    key = typed.strip() or key_from_env(service)
    with st.expander(t["title"], expanded=False):
        st.caption(t["help"])
        if st.session_state.get("ol_saved"):
            st.success(st.session_state.pop("ol_saved"))
        names = missing_names(gdf)
        if not names:
            st.caption(t["none"])
            return
        by_name = {m.name: m for m in names}
        chosen = st.selectbox(t["name"], list(by_name), key="ol_name")
        missing = by_name[chosen]
        st.caption(f"{t['items']}: {len(missing.item_ids)} · {missing.text[:60]}")
        answers: dict[tuple[str, str], tuple[Candidate, ...]] = st.session_state.setdefault("ol_answers", {})
        if st.button(t["ask"], key="ol_ask"):
            try:
                answers[(service, chosen)] = make_geocoder(service, key).candidates(chosen, city=city)
            except GeoplanError as err:
                st.error(str(err))
        found = answers.get((service, chosen))
        if found is None:
            return
        if not found:
            st.info(t["no_candidates"])
            return
        idx = st.radio(
            t["choose"], list(range(len(found))), key="ol_choice", format_func=lambda i: candidate_label(found[i], lang)
        )
        st.caption(found[idx].licence)
        author = st.text_input(t["author"], key="ol_author")
        if st.button(t["accept"], key="ol_accept"):
            try:
                saved = accept(store, missing, found[idx], author=author)
            except GeoplanError as err:
                st.error(str(err))
            else:
                answers.pop((service, chosen), None)
                st.session_state["ol_saved"] = f"{t['accepted']} " + ", ".join(f"#{c.id}" for c in saved)
                st.rerun()
