"""Find the gazetteer's places in each item: names, aliases and their common short forms.

One Aho-Corasick automaton holds every surface form; the longest match wins where matches overlap,
so 万柏林一中 is the school, not the district 万柏林区, and 太原火车站东站房 is the east building, not
the station. The city itself is never linked as a place: 太原市 in "推动太原市乡镇卫生院…" names
the whole city, which is what an item without a place means anyway.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import ahocorasick

from geoplan.gazetteer import Gazetteer, GazetteerEntry
from geoplan.models import Item, Mention, Status
from geoplan.parse import ACTIONS, actions_from_text, status_from_actions

CN_NUMERALS = "一二三四五六七八九十"
# A noun phrase ending like this names a place or a facility; unmatched, it is one the gazetteer lacks.
PLACE_SUFFIX_RE = re.compile(
    r"(?:大街|大道|路|街|桥|火车站|站房|高铁站|车站|机场|泉|河|湖|水库|公园|广场|小学|中学|一中|二中|三中|"
    r"学校|学院|大学|医院|卫生院|中心|园区|片区|区域|新区|开发区|号线[一二三四五六七八九十\d]*期?)$"
)
# Phrases with a place-like ending that name a kind of thing, not one place.
GENERIC_PLACE_RE = re.compile(
    r"^(?:(?:[一二三四五六七八九十两多各每该本全市省县区乡镇村级城镇城市社区公办公立国家全国重点示范农村]*)"
    r"(?:中心|学校|学院|医院|公园|游园|园区|片区|区域|道路|广场|卫生院|服务中心|养老中心|口袋游园|街头绿地|美丽街巷)"
    r"|.*服务中心|.*城市群.*|.*街巷|.*绿地)$"
)
# Verbs and fillers cut a clause into noun phrases (推进幸福桥 → 幸福桥, 国家区域医疗中心 stays whole).
_SPLIT_WORDS = sorted(
    {
        *ACTIONS,
        "建设", "打造", "完成", "支持", "全面", "深入", "持续", "继续", "加力", "大力", "高标准", "一批", "构建",
        "推广", "聚焦", "立足", "坚持", "综合", "确保", "提升", "至少", "每个", "的", "和", "与", "及", "等",
        "为", "以", "在", "把", "让", "向", "将", "加快推进",
    },
    key=len,
    reverse=True,
)
_SPLIT_RE = re.compile("|".join(re.escape(w) for w in _SPLIT_WORDS) + r"|[、“”\"「」（）()《》\s]")
_QUOTED_RE = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」")
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
                forms.add(form[len(city):])
    forms.update({unicodedata.normalize("NFKC", f) for f in list(forms)})
    return {f for f in forms if len(f) >= 2}


@dataclass(frozen=True)
class Linker:
    """An automaton over every surface form of a gazetteer."""

    gazetteer: Gazetteer

    @cached_property
    def _automaton(self) -> ahocorasick.Automaton:
        city_names = []
        if self.gazetteer.city is not None:
            city = self.gazetteer.city
            city_names = sorted({city.name, *city.aliases}, key=len, reverse=True)
        owners: dict[str, str] = {}
        for entry in self.gazetteer.entries:
            if entry.kind == "city":
                continue
            for form in surface_forms(entry, city_names=city_names):
                # The entry's own names beat a generated short form of another entry.
                if form in owners and form not in (entry.name, *entry.aliases):
                    continue
                owners[form] = entry.name
        automaton = ahocorasick.Automaton()
        for form, name in owners.items():
            automaton.add_word(form, (form, name))
        if owners:
            automaton.make_automaton()
        return automaton

    def mentions(self, item: Item) -> tuple[Mention, ...]:
        """Places named in ``item``, longest match first where matches overlap, in text order."""
        if self._automaton.kind == ahocorasick.EMPTY:
            return ()
        text = item.text
        hits = [(end - len(form) + 1, end + 1, form, name) for end, (form, name) in self._automaton.iter(text)]
        hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
        taken: list[tuple[int, int]] = []
        chosen: list[tuple[int, int, str, str]] = []
        for start, end, form, name in hits:
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            chosen.append((start, end, form, name))
        chosen.sort()
        seen: set[str] = set()
        out: list[Mention] = []
        for start, end, form, name in chosen:
            if name in seen:  # one feature per place per item
                continue
            seen.add(name)
            out.append(Mention(item_id=item.id, name=name, matched=form, start=start, end=end,
                               status=clause_status(text, start, default=item.status)))
        return tuple(out)

    def unknown_places(self, item: Item, mentions: Iterable[Mention] = ()) -> tuple[str, ...]:
        """Place-like names in ``item`` that the gazetteer lacks (what a planner should add)."""
        text = item.text
        for m in mentions:  # blank out what is already linked
            text = text[: m.start] + "、" * (m.end - m.start) + text[m.end :]
        # Quoted phrases are campaign names (“一泓清水入黄河”, “百园兴绿”), not places.
        text = _QUOTED_RE.sub(lambda q: "、" * len(q.group(0)), text)
        city = self.gazetteer.city
        city_names = sorted({city.name, *city.aliases}, key=len, reverse=True) if city else []
        found: list[str] = []
        for clause in _CLAUSE_RE.finditer(text):
            for phrase in _SPLIT_RE.split(clause.group(0)):
                if not (3 <= len(phrase) <= 16) or not PLACE_SUFFIX_RE.search(phrase):
                    continue
                bare = next((phrase[len(c):] for c in city_names if phrase.startswith(c)), phrase)
                if GENERIC_PLACE_RE.match(bare) or phrase in found:
                    continue
                found.append(phrase)
        return tuple(found)


def clause_status(text: str, pos: int, *, default: Status) -> Status:
    """The status of the clause around ``pos`` (``启动太原火车站东站房建设`` is starting)."""
    for m in _CLAUSE_RE.finditer(text):
        if m.start() <= pos < m.end():
            actions = actions_from_text(m.group(0))
            return status_from_actions(actions) if actions else default
    return default
