"""Find the gazetteer's places in each item: names, aliases and their common short forms.

One Aho-Corasick automaton holds every surface form; the longest match wins where matches overlap,
so 万柏林一中 is the school, not the district 万柏林区, and 太原火车站东站房 is the east building, not
the station. The city itself is never linked as a place: 太原市 in "推动太原市乡镇卫生院…" names
the whole city, which is what an item without a place means anyway.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick is a C extension without stubs

from geoplan.gazetteer import Gazetteer, GazetteerEntry
from geoplan.models import Item, Mention, Status
from geoplan.names import FILLERS, Candidate, candidates_from_text
from geoplan.parse import ACTIONS, actions_from_text, status_from_actions

CN_NUMERALS = "一二三四五六七八九十"
# An administrative name followed by these is part of another place's name: 黄浦江, 河北大街, 朝阳公园,
# 小店区人民医院 are no districts.
ADMIN_FOLLOWED_BY_PLACE_RE = re.compile(
    r"[区县市]?(?:人民|第[一二三四五六七八九十\d]+|中心|实验|[东西南北中新老]){0,3}"
    r"(?:大街|大道|路|街|江|河|湖|桥|公园|广场|火车站|站|机场|大学|学院|中学|小学|医院|体育场|体育馆|剧院|"
    r"图书馆|博物馆|新城|港|水库|山)"
)
# Verbs and fillers cut a clause into noun phrases (推进幸福桥 → 幸福桥, 国家区域医疗中心 stays whole).
_SPLIT_WORDS = tuple(sorted({*ACTIONS, *FILLERS}, key=len, reverse=True))
_CLAUSE_RE = re.compile(r"[^，,；;。！!？?]+")


def surface_forms(entry: GazetteerEntry, *, city_names: Iterable[str] = ()) -> set[str]:
    """The names an item may use for ``entry``: its name, aliases and general short forms."""
    forms = {entry.name, *entry.aliases}
    for form in list(forms):
        # Metro lines: 轨道交通1号线二期 ↔ 地铁1号线二期 ↔ 1号线二期.
        m = re.match(r"^(?:轨道交通|地铁)(\d+号线.*)$", form)
        if m:
            forms.update({m.group(1), "轨道交通" + m.group(1), "地铁" + m.group(1)})
        # Schools: 万柏林区第一中学 ↔ 万柏林一中 ↔ 万柏林区一中.
        m = re.match(rf"^(.+?)(区|县|市)?第([{CN_NUMERALS}]+)中学$", form)
        if m:
            forms.update({f"{m.group(1)}{m.group(3)}中", f"{m.group(1)}{m.group(2) or ''}{m.group(3)}中"})
        # Stations: 太原火车站 ↔ 太原站, 太原火车站东站房 ↔ 太原站东站房.
        if "火车站" in form:
            forms.add(form.replace("火车站", "站", 1))
        elif re.search(r"站(?!房)", form) and entry.kind == "station":
            forms.add(re.sub(r"站", "火车站", form, count=1))
        # The city's name as a prefix is often left out (太原火车站东站房 → 火车站东站房).
        for city in city_names:
            if form.startswith(city) and len(form) - len(city) >= 4:
                forms.add(form[len(city) :])
    forms.update({unicodedata.normalize("NFKC", f) for f in list(forms)})
    return {f for f in forms if len(f) >= 2}


@dataclass(frozen=True)
class Linker:
    """An automaton over every surface form of a gazetteer."""

    gazetteer: Gazetteer

    @cached_property
    def _city_names(self) -> list[str]:
        city = self.gazetteer.city
        return sorted({city.name, *city.aliases}, key=len, reverse=True) if city is not None else []

    @cached_property
    def _automaton(self) -> ahocorasick.Automaton:
        home = self.gazetteer.city
        owners: dict[str, str] = {}
        for entry in self.gazetteer.entries:
            if entry is home or (home is None and entry.kind == "city"):
                continue  # the report's own city names the whole area: what an item without a place means
            own = {entry.name, *entry.aliases}
            forms = surface_forms(entry, city_names=self._city_names or entry.qualifiers)
            if entry.qualifiers:
                # Another city's curated place: named with its city (太原地铁1号线), or by an unambiguous name.
                forms = {q + f for q in entry.qualifiers for f in forms} | {
                    f for f in own if len(f) >= 3 and not re.search(r"\d|号线", f)
                }
            for form in forms:
                # The entry's own names beat a generated short form of another entry.
                if form in owners and form not in own:
                    continue
                owners[form] = entry.name
        automaton = ahocorasick.Automaton()
        for form, name in owners.items():
            automaton.add_word(form, (form, name))
        if owners:
            automaton.make_automaton()
        return automaton

    @cached_property
    def _admin_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.gazetteer.entries if e.is_admin)

    def mentions(self, item: Item) -> tuple[Mention, ...]:
        """Places named in ``item``, longest match first where matches overlap, in text order."""
        if self._automaton.kind == ahocorasick.EMPTY:
            return ()
        text = item.text
        hits = [
            (end - len(form) + 1, end + 1, form, name)
            for end, (form, name) in self._automaton.iter(text)
            if not (name in self._admin_names and ADMIN_FOLLOWED_BY_PLACE_RE.match(text, end + 1))
        ]
        hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
        # Longest first; a character taken by a longer match refuses any overlap (linear in the text).
        taken = bytearray(len(text))
        chosen: list[tuple[int, int, str, str]] = []
        for start, end, form, name in hits:
            if any(taken[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            chosen.append((start, end, form, name))
        chosen.sort()
        seen: set[str] = set()
        out: list[Mention] = []
        clauses = _Clauses(text, item.status)
        for start, end, form, name in chosen:
            if name in seen:  # one feature per place per item
                continue
            seen.add(name)
            out.append(
                Mention(item_id=item.id, name=name, matched=form, start=start, end=end, status=clauses.status_at(start))
            )
        return tuple(out)

    def unknown_places(self, item: Item, mentions: Iterable[Mention] = ()) -> tuple[str, ...]:
        """Place-like names in ``item`` that the gazetteer lacks (what a planner should add)."""
        return tuple(c.name for c in self.unknown_candidates(item, mentions))

    def unknown_candidates(self, item: Item, mentions: Iterable[Mention] = ()) -> tuple[Candidate, ...]:
        """Like :meth:`unknown_places`, with each name's kind (road, school, river …)."""
        text = item.text
        # Blank out what is already linked, every time it occurs (mentions lists each place once).
        for form in sorted({m.matched for m in mentions}, key=len, reverse=True):
            text = text.replace(form, "、" * len(form))
        return candidates_from_text(text, split_words=_SPLIT_WORDS, city_names=self._city_names)


class _Clauses:
    """Clause bounds of a text found once, each clause's status computed on first use (not per mention)."""

    def __init__(self, text: str, default: Status) -> None:
        self.text = text
        self.default = default
        self.spans = [(m.start(), m.end()) for m in _CLAUSE_RE.finditer(text)]
        self.starts = [s for s, _ in self.spans]
        self.memo: dict[int, Status] = {}

    def status_at(self, pos: int) -> Status:
        i = bisect.bisect_right(self.starts, pos) - 1
        if i < 0 or not (self.spans[i][0] <= pos < self.spans[i][1]):
            return self.default
        if i not in self.memo:
            actions = actions_from_text(self.text[self.spans[i][0] : self.spans[i][1]])
            self.memo[i] = status_from_actions(actions) if actions else self.default
        return self.memo[i]
