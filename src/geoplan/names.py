"""Recognise place names a gazetteer lacks, by their kind words (路, 大街, 桥, 站, 小学, 医院, 公园, 河 …).

A report names far more places than any gazetteer holds; each one it names must be kept, located or listed
as unresolved with its kind, so that a planner can add it. The rules, all linear in the text:

- a name is a noun phrase ending in a kind word, cut at verbs and fillers (推进幸福桥 → 幸福桥) and without a
  verb glued on (强化山西大学 → 山西大学; 抓好市人民医院 → 市人民医院);
- a shared kind word is expanded (新建化工路、中车、长江等小学 → 化工路小学, 中车小学, 长江小学: schools, not the
  road 化工路);
- numbered forms count (36中, 地铁1号线);
- counted or generic phrases are no names (22个示范片区, 国家级零碳园区, 集成电路, 开发区 or 新区 alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

#: Kind words, longest first, and the gazetteer kind each one names.
KIND_WORDS: dict[str, str] = {
    "大街": "road",
    "大道": "road",
    "高速公路": "road",
    "高速": "road",
    "快速路": "road",
    "环路": "road",
    "路": "road",
    "街": "road",
    "巷": "road",
    "城际铁路": "rail_line",
    "铁路": "rail_line",
    "高铁": "rail_line",
    "城际": "rail_line",
    "号线": "metro_line",
    "立交桥": "bridge",
    "大桥": "bridge",
    "桥": "bridge",
    "火车站": "station",
    "高铁站": "station",
    "东站房": "station",
    "站房": "station",
    "车站": "station",
    "枢纽": "station",
    "站": "station",
    "机场": "facility",
    "幼儿园": "school",
    "小学": "school",
    "中学": "school",
    "学校": "school",
    "大学": "university",
    "学院": "university",
    "校区": "university",
    "院区": "hospital",
    "卫生院": "hospital",
    "医院": "hospital",
    "公园": "park",
    "广场": "park",
    "绿道": "park",
    "植物园": "park",
    "动物园": "park",
    "水库": "water",
    "河": "river",
    "江": "river",
    "湖": "water",
    "渠": "river",
    "泉": "spring",
    "新城": "area",
    "科学城": "area",
    "园区": "area",
    "开发区": "area",
    "示范区": "area",
    "片区": "area",
    "新区": "area",
    "街道": "area",
    "村": "area",
    "镇": "area",
    "体育场": "facility",
    "体育馆": "facility",
    "博物馆": "facility",
    "图书馆": "facility",
    "剧院": "facility",
    "中心": "facility",
}
_KINDS_ALT = "|".join(re.escape(k) for k in sorted(KIND_WORDS, key=len, reverse=True))
#: A phrase ends with a kind word (or a numbered form: 36中, 1号线二期).
_KIND_END_RE = re.compile(rf"(?:{_KINDS_ALT}|号线[一二三四五六七八九十\d]*期?|\d+中)$")
#: Kind words that also end common nouns: 集成电路, 发展思路, 公交线路, 断头路 are no roads.
_NOT_PLACES_RE = re.compile(
    r"(?:电路|线路|思路|出路|门路|销路|网路|套路|道路|通路|断头路|丝路|新路|之路|路子|中心城区|中心城市|"
    r"[重核]心|中心工作|街巷|站位|站点|港澳|河湖|江河|湖泊|大江大河|城际间|全村|全镇|乡村|农村|村庄|城镇|探路|"
    r"中小学|初中学|基站|小巷|^[修铺筑建架][路桥])$"
)
#: Phrases that speak of a kind or a batch of places: 第三批示范村, 新一轮…, 身边小微公园, 2个…
_KIND_OF_THINGS_RE = re.compile(
    r"\d+[个条家所座处批项]|第[一二三四五六七八九十\d]+批|首批|一轮|身边|城中村|示范村|精品村|交通枢纽|名镇|[%％]|"
    r"^[一二三四五六七八九十]是|"
    r"([\u4e00-\u9fff])\1"
)
#: Words a phrase may start with that are no part of a name (verbs, adverbs, fillers); stripped repeatedly.
_LEADING = sorted(
    {
        "实现",
        "助力",
        "强化",
        "拓展",
        "再",
        "创建",
        "注重",
        "打好",
        "优化",
        "布局",
        "入选",
        "上",
        "提升",
        "推进",
        "加快",
        "建设",
        "新建",
        "改造",
        "实施",
        "完善",
        "打造",
        "开工",
        "建成",
        "启动",
        "推动",
        "支持",
        "深化",
        "加强",
        "发展",
        "培育",
        "扩大",
        "促进",
        "保护",
        "治理",
        "修复",
        "提质",
        "改扩建",
        "扩建",
        "升级",
        "谋划",
        "规划",
        "筹建",
        "筹设",
        "落实",
        "开展",
        "围绕",
        "依托",
        "聚焦",
        "做好",
        "办好",
        "用好",
        "抓好",
        "争创",
        "迁建",
        "续建",
        "保障",
        "全面",
        "持续",
        "大力",
        "积极",
        "着力",
        "深入",
        "加大",
        "打通",
        "贯通",
        "连通",
        "畅通",
        "完成",
        "投用",
        "运营",
        "开通",
        "引进",
        "鼓励",
        "探索",
        "建立",
        "健全",
        "构建",
        "形成",
        "提高",
        "增强",
        "巩固",
        "扩容",
        "新增",
        "新开",
        "开辟",
        "组建",
        "设立",
        "成立",
        "举办",
        "承办",
        "助推",
        "带动",
        "推广",
        "整治",
        "整合",
        "统筹",
        "盘活",
        "利用",
        "开发",
        "研究",
        "编制",
        "建",
        "办",
        "抓",
        "以",
        "在",
        "对",
        "为",
        "把",
        "将",
        "与",
        "和",
        "及",
        "同",
        "让",
        "向",
        "使",
        "其中",
        "包括",
        "重点",
        "一批",
        "一座",
        "一所",
        "一条",
        "全市",
        "全省",
        "全区",
        "我市",
        "我省",
        "本市",
        "积极推进",
        "加快推进",
        "高标准",
        "高质量",
        "高水平",
        "力争",
        "争取",
        "确保",
        "基本",
        "正式",
        "全力",
        "努力",
        "继续",
        "进一步",
        "不断",
        "有序",
        "稳步",
        "发挥",
        "加速",
        "守牢",
        "服务保障",
        "服务对接",
        "细化",
        "位列",
    },
    key=len,
    reverse=True,
)
_LEADING_RE = re.compile("^(?:" + "|".join(re.escape(w) for w in _LEADING) + ")")
#: A counted phrase names a number of things, not one place (22个示范片区, 5条美丽河湖, 2—3家…中心).
_COUNTED_RE = re.compile(r"^(?:[\d.]+|[一二两三四五六七八九十百千万]+)(?:[—\-~～][\d.]+)?[个条家所座处批项张名类]")
#: Qualifiers of a kind rather than a name: what is left after them must still name something.
_GENERIC_RE = re.compile(
    r"^(?:[一二三四五六七八九十两多各每该本全市省县区乡镇村级城镇城市社区公办公立国家全国重点示范农村]*"
    r"(?:世界一流|世界领先|国际一流|国家级|省级|市级|区级|县级|国家|省|市|区域|一流|重点|特色|示范|大型|小微|新型|"
    r"现代化?|智慧|绿色|零碳|低碳|平安|综合|专业|公共|社区|口袋|郊野|城市|乡村|美丽|无界|高品质|标准化|"
    r"产业|数字经济|数字|科技|技术|创新|人才|活力|文化|旅游|服务|康养|医疗|养老|托育|消费品|制造业|企业|"
    r"概念验证|孵化|研发|检验检测|物流|商业|商务|会展|金融|总部|双创|众创|教育|体育|卫生|疾控|绿电|"
    r"大尺度|小型|中型|老旧|口袋|街头|城乡|农贸|集贸|应急|避难|公办|民办|普惠|义务教育|特殊教育|寄宿制|"
    r"专科|精神病|农村|美丽|小区|配套|小区配套|新)*"
    r"(?:中心|学校|学院|大学|医院|公园|游园|园区|片区|区域|道路|广场|卫生院|服务中心|街巷|绿地|新区|开发区|"
    r"院区|校区|街|路|公路|小巷|"
    r"示范区|新城|站|枢纽|港|机场|小学|中学|幼儿园|基地|河湖|水库|体育场|体育馆|图书馆|博物馆|剧院|村|镇|城)$"
    r"|.*服务中心$|.*城市群.*$|.*街巷$|.*绿地$)"
)
#: Verbs and fillers around a place name in a clause (推进幸福桥 → 幸福桥); geoplan.link cuts clauses at them too.
FILLERS = (
    "建设",
    "打造",
    "完成",
    "支持",
    "全面",
    "深入",
    "持续",
    "继续",
    "加力",
    "大力",
    "高标准",
    "一批",
    "构建",
    "推广",
    "聚焦",
    "立足",
    "坚持",
    "综合",
    "确保",
    "提升",
    "至少",
    "每个",
    "的",
    "和",
    "与",
    "及",
    "等",
    "为",
    "以",
    "在",
    "把",
    "让",
    "向",
    "将",
    "加快推进",
)
#: Splits a clause into noun phrases: verbs of the status vocabulary and fillers, punctuation, brackets.
_FILLERS = (
    *FILLERS,
    "或",
    "并",
    "同时",
    "实现",
    "入选",
    "设立",
    "迁入",
    "位列",
)
_PUNCT_RE = re.compile(r"[、“”\"「」（）()《》〈〉\s，,；;。！!？?：:]")
_QUOTED_RE = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|《[^》]*》")
# 等 + the shared kind word; the list before it is found by looking back to the clause's start (a regex
# that scanned forward from every position for the list was 60 steps a character).
_SHARED_KIND_RE = re.compile(r"等(?P<kind>小学|中学|学校|幼儿园|大学|医院|公园|广场|桥|站|水库|村|镇)")
_CLAUSE_START_RE = re.compile(r"[，,；;。！？：:“”]")
_MAX_LIST = 60
MIN_NAME, MAX_NAME = 2, 16


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place name found by its kind word: ``kind`` is a gazetteer kind (road, school, river …)."""

    name: str
    kind: str
    start: int


_KIND_WORD_END_RE = re.compile(rf"(?P<word>{_KINDS_ALT})$")


def kind_of(name: str) -> str:
    """The gazetteer kind a name's ending says (``迎泽西大街`` → road, ``36中`` → school)."""
    if re.search(r"号线[一二三四五六七八九十\d]*期?$", name):
        return "metro_line"
    if re.search(r"\d+中$", name):
        return "school"
    m = _KIND_WORD_END_RE.search(name)
    return KIND_WORDS[m["word"]] if m else "facility"


def clean_name(phrase: str) -> str:
    """``phrase`` without leading verbs and fillers (强化山西大学 → 山西大学)."""
    prev = None
    while phrase and prev != phrase:
        prev = phrase
        m = _LEADING_RE.match(phrase)
        if m and len(phrase) - m.end() >= MIN_NAME:
            phrase = phrase[m.end() :]
    return phrase


def is_name(phrase: str, *, city_names: Iterable[str] = ()) -> bool:
    """Whether a phrase ending with a kind word names one place (not a counted or generic kind of place)."""
    if not (MIN_NAME <= len(phrase) <= MAX_NAME) or not _KIND_END_RE.search(phrase):
        return False
    if _NOT_PLACES_RE.search(phrase) or _COUNTED_RE.match(phrase) or _KIND_OF_THINGS_RE.search(phrase):
        return False
    bare = next((phrase[len(c) :] for c in city_names if phrase.startswith(c) and len(phrase) > len(c)), phrase)
    return not _GENERIC_RE.match(bare) and len(bare) >= MIN_NAME and bare not in KIND_WORDS


_SPLIT_RE = re.compile(
    "|".join(re.escape(w) for w in sorted(_FILLERS, key=len, reverse=True)) + r"|" + _PUNCT_RE.pattern
)


_KIND_IN_RE = re.compile(rf"(?:{_KINDS_ALT}|号线[一二三四五六七八九十\d]*期?|\d+中(?![心国华]))")


def _up_to_kind(phrase: str) -> str:
    """A phrase that runs on past its name (府东街提质改造, 老军营片区城市更新) cut after its last kind word."""
    if _KIND_END_RE.search(phrase):
        return phrase
    last = None
    for m in _KIND_IN_RE.finditer(phrase):
        last = m
    if last is None or len(phrase) - last.end() < 2:
        return phrase
    return phrase[: last.end()]


@cache
def _splitter(split_words: tuple[str, ...]) -> re.Pattern[str]:
    """The phrase splitter with ``split_words`` besides the fillers, compiled once per word list."""
    extra = sorted(set(split_words) - set(_FILLERS), key=len, reverse=True)
    if not extra:
        return _SPLIT_RE
    return re.compile("|".join(re.escape(w) for w in extra) + "|" + _SPLIT_RE.pattern)


def candidates_from_text(
    text: str, *, split_words: tuple[str, ...] = (), city_names: Iterable[str] = ()
) -> tuple[Candidate, ...]:
    """Place names in ``text`` by their kind words, in text order, each once.

    ``text`` should have what is already linked blanked out (``、``); ``split_words`` are more verbs to cut at.
    """
    city_names = tuple(city_names)
    text = _QUOTED_RE.sub(lambda q: "、" * len(q.group(0)), text)  # campaign names and titles are no places
    found: dict[str, Candidate] = {}
    shared_spans: list[tuple[int, int]] = []
    for m in _SHARED_KIND_RE.finditer(text):
        kind_word = m["kind"]
        window = text[max(0, m.start() - _MAX_LIST) : m.start()]
        cut = max((d.end() for d in _CLAUSE_START_RE.finditer(window)), default=0)
        listed = window[cut:]
        parts = re.split(r"[、和及与]", listed)
        if len(parts) < 2:
            continue
        names = [clean_name(_SPLIT_RE.split(p)[-1]) + kind_word for p in parts]
        if all(is_name(n, city_names=city_names) for n in names):
            for n in names:
                found.setdefault(n, Candidate(n, kind_of(n), m.start()))
            shared_spans.append((m.start() - len(listed), m.end()))
    splitter = _splitter(tuple(split_words))
    pos = 0
    for piece in splitter.split(text):
        start = text.find(piece, pos) if piece else pos
        pos = start + len(piece)
        if not piece or any(s <= start < e for s, e in shared_spans):
            continue
        name = clean_name(_up_to_kind(piece))
        if is_name(name, city_names=city_names) and name not in found:
            found[name] = Candidate(name, kind_of(name), start + len(piece) - len(name))
    return tuple(sorted(found.values(), key=lambda c: c.start))
