"""Parse a work-report text into a ``Report``: shape, city, domains, sections, items, targets.

Reports come in four shapes (:data:`geoplan.models.SHAPES`): the complete official report (chapters 一、,
sections （一）, prose), news summaries with 关键词: / □ / ◆, other bullet summaries (● 1. 【…】 …), and
pasted excerpts. They come pasted from web pages, so the parser expects layout noise (stray spaces inside
Chinese phrases, CRLF and U+2028, a BOM, GB18030 files, full-width colons, a byline glued to the last item,
the page's own buttons before the title) and repeats (the same item under two headings). It never drops a
source line silently: every item line maps to exactly one ``Item``, other sentences stay as their section's
context, and web-page leftovers are listed in ``Report.dropped``. Every stage is linear in the text.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import ahocorasick  # type: ignore[import-not-found]  # pyahocorasick is a C extension without stubs

from geoplan import settings
from geoplan.admin import AdminIndex, AdminUnit, admin_index
from geoplan.errors import GeoplanError, ReportError
from geoplan.names import candidates_from_text
from geoplan.models import (
    SHAPES,
    Domain,
    Dropped,
    Item,
    Occurrence,
    Quantity,
    Report,
    ReportCity,
    Section,
    Sentence,
    Status,
    Target,
)

# Pasted text may split the marker itself (``关 键词:``) as it splits other Chinese phrases.
DOMAIN_RE = re.compile(r"^\s*关\s*键\s*[词字]\s*[:：]\s*(?P<name>.*?)\s*$")
SECTION_MARKERS = "□■☐▢"
ITEM_MARKERS = "◆◇●•"
BYLINE_RE = re.compile(
    r"(?:^|\s+)(?P<byline>(?:记者|通讯员|责任编辑|编辑)[\s:：]*[\u4e00-\u9fff·]{2,5}"
    r"(?:\s+[\u4e00-\u9fff·]{2,5})*)\s*$"
)
_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
# Invisible characters str.strip() keeps: a BOM inside concatenated files, zero-width spaces and joiners.
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_TRAILING_PUNCT = "。．.；;，,、 "

# Action words, longest first within the alternation; each maps to one status.
ACTIONS: dict[str, Status] = {
    "建成投用": Status.COMPLETING,
    "建成投运": Status.COMPLETING,
    "建成": Status.COMPLETING,
    "投用": Status.COMPLETING,
    "完成": Status.COMPLETING,
    "通车": Status.COMPLETING,
    "新开工": Status.STARTING,
    "开工": Status.STARTING,
    "启动": Status.STARTING,
    "动工": Status.STARTING,
    "新建": Status.NEW_BUILD,
    "续建": Status.CONTINUING,
    "持续实施": Status.CONTINUING,
    "继续实施": Status.CONTINUING,
    "持续推进": Status.CONTINUING,
    "前期工作": Status.PREPARATORY,
    "筹设": Status.PREPARATORY,
    "筹建": Status.PREPARATORY,
    "规划建设": Status.PLANNING,
    "规划": Status.PLANNING,
    "谋划": Status.PLANNING,
    "战略研究": Status.PLANNING,
    "打通": Status.UNDER_CONSTRUCTION,
    "改造": Status.UNDER_CONSTRUCTION,
    "实施": Status.UNDER_CONSTRUCTION,
    "加快": Status.ONGOING_POLICY,
    "推进": Status.ONGOING_POLICY,
    "推动": Status.ONGOING_POLICY,
    "落实": Status.ONGOING_POLICY,
    "深化": Status.ONGOING_POLICY,
    "开展": Status.ONGOING_POLICY,
    "巩固": Status.ONGOING_POLICY,
    "支持": Status.ONGOING_POLICY,
    "统筹": Status.ONGOING_POLICY,
}
# The most telling status wins when an item names several (``推进…前期工作`` is preparatory work).
STATUS_PRIORITY: tuple[Status, ...] = (
    Status.COMPLETING,
    Status.STARTING,
    Status.NEW_BUILD,
    Status.CONTINUING,
    Status.PREPARATORY,
    Status.PLANNING,
    Status.UNDER_CONSTRUCTION,
    Status.ONGOING_POLICY,
)
# Words that look like actions inside other words: ``新建路`` is a street, ``创建成果`` is no completion.
_ACTION_GUARDS: dict[str, tuple[str, str]] = {
    "新建": ("", r"(?![路街巷南北东西])"),
    "建成": (r"(?<!创)", r"(?!果)"),
}
_ACTION_RE = re.compile(
    "|".join(
        _ACTION_GUARDS.get(w, ("", ""))[0] + re.escape(w) + _ACTION_GUARDS.get(w, ("", ""))[1]
        for w in sorted(ACTIONS, key=len, reverse=True)
    )
)

_UNITS = (
    "平方公里|平方米|万亩|公里|千米|万人|万个|万户|万套|万张|万元|亿元|个百分点|"
    "个|所|场|人|张|条|米|亩|户|套|家|座|项|台|辆|名|处|栋|间|元|%|％|km"
)
QUANTITY_RE = re.compile(rf"(?P<value>\d+(?:\.\d+)?)(?P<unit>{_UNITS})(?P<qualifier>左右|以上|以下|以内|上下)?")
TARGET_RE = re.compile(
    rf"^(?P<name>.*?)(?P<value>\d+(?:\.\d+)?)(?P<unit>{_UNITS})?(?P<qualifier>左右|以上|以下|以内|上下)?$"
)


def normalize_text(text: str) -> str:
    """Remove layout spaces inside Chinese text; keep the ones between Latin words and numbers."""
    text = text.replace("\r", "").replace("\ufeff", "")
    out: list[str] = []
    pos = 0
    for m in _SPACE_RE.finditer(text):
        out.append(text[pos : m.start()])
        left = text[m.start() - 1] if m.start() > 0 else ""
        right = text[m.end()] if m.end() < len(text) else ""
        if left and right and _ASCII_WORD.match(left) and _ASCII_WORD.match(right):
            out.append(" ")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out).strip()


def item_key(text: str) -> str:
    """Comparison key of an item: width-folded (NFKC), without trailing punctuation."""
    return unicodedata.normalize("NFKC", text).rstrip(_TRAILING_PUNCT)


def item_id(text: str) -> str:
    """Stable id of an item, derived from its normalised text only (not its position or encoding)."""
    return "it-" + hashlib.sha1(item_key(text).encode("utf-8")).hexdigest()[:10]


def quantities_from_text(text: str) -> tuple[Quantity, ...]:
    """Numbers with units (``673个``, ``2.4万个``, ``300场以上``)."""
    return tuple(
        Quantity(text=m.group(0), value=float(m.group("value")), unit=m.group("unit"), qualifier=m.group("qualifier"))
        for m in QUANTITY_RE.finditer(text)
    )


def actions_from_text(text: str) -> tuple[str, ...]:
    """Action words in order of appearance."""
    return tuple(m.group(0) for m in _ACTION_RE.finditer(text))


def status_from_actions(actions: Iterable[str]) -> Status:
    """The most telling status among the actions; an item without one is ongoing policy."""
    found = {ACTIONS[a] for a in actions}
    for status in STATUS_PRIORITY:
        if status in found:
            return status
    return Status.ONGOING_POLICY


def targets_from_text(text: str) -> tuple[Target, ...]:
    """Split the 主要预期目标 paragraph into indicators (name, value, unit, qualifier)."""
    targets: list[Target] = []
    for clause in re.split(r"[，,；;。]", text):
        clause = clause.strip()
        if not clause:
            continue
        m = TARGET_RE.match(clause)
        if m:
            targets.append(
                Target(
                    name=m.group("name"),
                    text=clause,
                    value=float(m.group("value")),
                    unit=m.group("unit"),
                    qualifier=m.group("qualifier"),
                )
            )
        else:
            targets.append(Target(name=clause, text=clause))
    return tuple(targets)


def decode_report(data: bytes, *, source: str = "<bytes>") -> tuple[str, str]:
    """Decode report bytes as UTF-16 (with BOM), UTF-8 (with or without BOM), else GB18030.

    Name the line of the first undecodable byte if none fits.
    """
    if not data.strip():
        raise ReportError("the report is empty", source=source, line=1)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with BOM: Windows Notepad's "Unicode"
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            line = data[: err.start].decode("utf-16", errors="replace").count("\n") + 1
            raise ReportError(f"cannot decode bytes as UTF-16 (byte {err.start})", source=source, line=line) from err
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReportError(
            "binary data (NUL byte), not a text report", source=source, line=data.count(b"\n", 0, nul) + 1
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf_err:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            line = data.count(b"\n", 0, utf_err.start) + 1
            msg = f"cannot decode bytes as UTF-8 or GB18030 (byte {utf_err.start})"
            raise ReportError(msg, source=source, line=line) from utf_err


@dataclass
class _RawItem:
    """An item as read: its text grows by continuation lines, normalised once at the end (linear)."""

    parts: list[str]
    occurrence: Occurrence
    lines: list[int] = field(default_factory=list)
    text: str = ""


@dataclass
class _Sec:
    title: str | None
    line: int | None
    items: list[_RawItem] = field(default_factory=list)
    context: list[Sentence] = field(default_factory=list)


@dataclass
class _Dom:
    name: str
    line: int
    part: str
    sections: list[_Sec] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


# Control characters (Unicode category Cc) other than tab and line ends: a report never holds them.
# U+0085 (NEL) is a line end from web copy-paste, turned into "\n" before this check.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
# Line ends a web page's copy-paste brings besides \r\n: NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
_LINE_BREAKS_RE = re.compile("\r\n|[\r\x85\u2028\u2029]")

#: Headings and items of every shape. Chinese numerals up to 99 (十一, 二十三).
_CN_NUM = "[一二三四五六七八九十]{1,3}"
CHAPTER_RE = re.compile(rf"^{_CN_NUM}[、．.]\s*(?P<title>.+)$")
PAREN_SECTION_RE = re.compile(rf"^[（(]{_CN_NUM}[）)]\s*(?P<title>.+)$")
ORDINAL_RUNIN_RE = re.compile(rf"^{_CN_NUM}是(?P<title>[^。，；]{{2,30}})[。；](?P<rest>.*)$")
BULLET_ITEM_RE = re.compile(r"^(?:[●•■▲★◆◇▪►▶]|\d{1,3}[.、．](?!\d)|[（(]\d{1,3}[）)])\s*(?P<body>.*)$")
BRACKET_HEADING_RE = re.compile(r"^【(?P<title>[^】]{1,30})】\s*$")
DASH_RE = re.compile(r"^(?:——|--|—)\s*(?P<body>.+)$")
#: A heading line is short and no sentence: no full stop inside, no comma.
_MAX_HEADING = 40
#: Web-page leftovers around a pasted report (下载 / 打印 / 【字号：加大 还原 减小】 …).
CHROME_RE = re.compile(
    r"^(?:下载|打印|全屏|收藏|分享|关闭|关闭窗口|打印本页|返回顶部|加大|还原|减小|默认|字体|大|中|小|】|【|"
    r"【?字号[:：]?.*|\[?\s*字体[:：].*|分享到[:：]?.*|扫一扫.*|手机版|来源[:：]?\s*$)$"
)
TRAILER_RE = re.compile(r"^(?:相关报道|相关链接|相关新闻|相关阅读|延伸阅读|责任编辑)[:：]?")
TITLE_RE = re.compile(r"^(?:(?P<year>\d{4})年)?(?P<who>[\u4e00-\u9fff]{2,20}?)(?:人民)?政府工作报告$")
VENUE_RE = re.compile(
    rf"(?P<who>[\u4e00-\u9fff]{{2,20}}?)(?:第{_CN_NUM}届人民代表大会|(?:召开的|的)?[“\"]?两会|人代会)"
)
SPEAKER_RE = re.compile(r"(?P<who>[\u4e00-\u9fff]{2,20}?)代?(?:市长|省长|区长|县长|州长|盟长|主席)")
#: Targets: 今年经济社会发展的主要预期目标是：…
TARGETS_RE = re.compile(r"主要(?:预期)?目标(?:是|为)?[:：]")
#: A sentence names a district, county or city (``朝阳区``, ``古交市``); other places by :mod:`geoplan.names`.
ADMIN_WORD_RE = re.compile(r"[\u4e00-\u9fff]{2,}(?:区|县|市)(?![场民级委政])")
_SENTENCE_SCAN = re.compile(r"[。！？；!?;“”‘’「」『』（）()《》【】\"]")
_OPEN, _CLOSE = "“‘「『（(《【", "”’」』）)》】"
#: A run-in lead sentence (``扩大有效投资。…``): short, no comma, followed by more text.
_MAX_LEAD = 24


def _check_text(text: str, source: str) -> None:
    m = _CONTROL_RE.search(text)  # one regex pass: a per-character loop takes seconds on a 50 MB file
    if m:
        lineno = text.count("\n", 0, m.start()) + 1
        raise ReportError(f"control character {m.group()!r}: not a text report", source=source, line=lineno)


def split_sentences(text: str) -> list[str]:
    """Split on 。！？； (and ASCII !?;), never inside quotes or brackets; keep the terminators."""
    out: list[str] = []
    depth = 0
    straight = False
    start = 0
    for m in _SENTENCE_SCAN.finditer(text):
        ch = m.group()
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == '"':
            straight = not straight
        elif depth == 0 and not straight:
            piece = text[start : m.end()].strip()
            if piece and piece not in "。！？；!?;":
                out.append(piece)
            elif piece and out:
                out[-1] += piece
            start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def part_of(title: str, default: str = "plan") -> str:
    """The part of the report a chapter or domain title opens."""
    if "自身建设" in title or "政府建设" in title:
        return "government"
    if "回顾" in title or "成就" in title or "过去" in title:
        return "review"
    if "预期目标" in title or title.endswith("目标"):
        return "targets"
    return default


def is_item_sentence(sentence: str) -> bool:
    """A measure or project: names an action of the status vocabulary, a place, or a quantity."""
    if len(sentence) < 6 or sentence.startswith(("各位代表", "同志们")):
        return False
    return bool(
        _ACTION_RE.search(sentence)
        or QUANTITY_RE.search(sentence)
        or ADMIN_WORD_RE.search(sentence)
        or candidates_from_text(sentence)
    )


def _is_heading(text: str) -> bool:
    body = text.rstrip("。．.")
    return 0 < len(body) <= _MAX_HEADING and not re.search(r"[。；;，,！？]", body)


def detect_shape(lines: list[str]) -> str | None:
    """Which of the shapes the (stripped, non-empty) lines are; ``None`` for text with no sentence structure."""
    if any(DOMAIN_RE.match(ln) for ln in lines):
        return "keyword-summary"
    chapters = sum(1 for ln in lines if _chapter_title(ln) is not None)
    long_paras = sum(1 for ln in lines if len(ln) >= 120)
    if chapters >= 2 and (long_paras >= 2 or any(ln.startswith("各位代表") for ln in lines)):
        return "full-report"
    bullets = sum(1 for ln in lines if BULLET_ITEM_RE.match(ln) or ln[0] in SECTION_MARKERS)
    if bullets >= 2 and bullets * 4 >= len(lines):
        return "bullet-summary"
    if chapters >= 2:
        return "full-report"
    cjk = sum(1 for ln in lines if re.search(r"[\u4e00-\u9fff]{2}", ln))
    if cjk and any(re.search(r"[。！？；，]", ln) for ln in lines):
        return "excerpt"
    if bullets >= 1:
        return "bullet-summary"
    return None


SHAPE_HELP = """geoplan reads four shapes of report:
  full-report      the complete official report: title, 各位代表：, chapters 一、 and sections （一）, prose
                     一、2025年工作回顾 / （一）扩大有效投资。实施城市更新行动，改造老旧小区500个。
  keyword-summary  a news summary with 关键词: blocks, □ headings and ◆ items
                     关键词:城乡融合发展 / ◆实施迎泽西大街、新建路等维修改造工程。
  bullet-summary   items marked ● • ■ ▲ ★ ◆ 1. 1、 （1） under headings (□, 【…】, 一、, or a short line)
                     【交通】 / ● 推进地铁2号线二期建设。
  excerpt          a few pasted paragraphs of a report, read as one untitled section
                     今年将新建公办幼儿园10所。推进幸福桥建设。"""

UNTITLED = "全文"


class _Builder:
    """Domains, sections and items in order of first appearance; same-name domains merge."""

    def __init__(self) -> None:
        self.domains: dict[str, _Dom] = {}
        self.current: _Dom | None = None
        self.raw_items: list[_RawItem] = []
        self.last_item: _RawItem | None = None

    def domain(self, name: str, line: int, part: str) -> _Dom:
        dom = self.domains.get(name)
        if dom is None:
            dom = self.domains[name] = _Dom(name, line, part)
        self.current = dom
        self.last_item = None
        return dom

    def _dom(self, line: int, part: str) -> _Dom:
        return self.current if self.current is not None else self.domain(UNTITLED, line, part)

    def section(self, title: str | None, line: int, part: str = "plan") -> _Sec:
        dom = self._dom(line, part)
        sec = _Sec(title or None, line)
        dom.sections.append(sec)
        self.last_item = None
        return sec

    def _sec(self, line: int, part: str) -> _Sec:
        dom = self._dom(line, part)
        if not dom.sections:
            dom.sections.append(_Sec(None, None))
        return dom.sections[-1]

    def item(self, body: str, line: int, part: str, topic: str | None = None) -> _RawItem:
        sec = self._sec(line, part)
        assert self.current is not None
        ri = _RawItem([body], Occurrence(self.current.name, sec.title, line, part, topic), [line])
        sec.items.append(ri)
        self.raw_items.append(ri)
        self.last_item = ri
        return ri

    def context(self, text: str, line: int, part: str) -> None:
        self._sec(line, part).context.append(Sentence(line, text))

    def prose(
        self, text: str, line: int, part: str, *, topic: str | None = None, targets: list[Target] | None = None
    ) -> None:
        """Sentences of a paragraph: items where they name an action, a place or a quantity; else context."""
        sentences = split_sentences(text)
        if topic is None and len(sentences) > 1 and _is_lead(sentences[0]):
            topic = sentences[0].rstrip("。；;")
            self.context(sentences[0], line, part)
            sentences = sentences[1:]
        for sentence in sentences:
            s_part = part
            if targets is not None:
                m = TARGETS_RE.search(sentence)
                if m:
                    targets.extend(targets_from_text(sentence[m.end() :]))
                    s_part = "targets"
            if is_item_sentence(sentence):
                self.item(sentence, line, s_part, topic)
            else:
                self.context(sentence, line, s_part)
        self.last_item = None


def _is_lead(sentence: str) -> bool:
    body = sentence.rstrip("。；;")
    return 2 <= len(body) <= _MAX_LEAD and not re.search(r"[，,、：:]", body)


def report_from_text(
    text: str, *, source: str = "<text>", encoding: str = "utf-8", shape: str | None = None, city: str | None = None
) -> Report:
    """Parse report text of any shape; raise ``ReportError`` naming ``source`` and the line when it is none.

    ``shape`` forces one of :data:`geoplan.models.SHAPES`; ``city`` names whose report it is (otherwise the
    report says so, or the places it names, or ``settings.default_city``).
    """
    text = _LINE_BREAKS_RE.sub("\n", text.lstrip("\ufeff"))
    if not text.strip():
        raise ReportError("the report is empty", source=source, line=1)
    _check_text(text, source)
    lines = [raw.strip().strip(_INVISIBLE).strip() for raw in text.split("\n")]
    numbered = [(n, ln) for n, ln in enumerate(lines, start=1) if ln]
    if shape is not None and shape not in SHAPES:
        raise ReportError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}", source=source)

    dropped: list[Dropped] = []
    # Web-page leftovers before the report and after its end.
    first = 0
    while first < len(numbered) and CHROME_RE.match(numbered[first][1]):
        dropped.append(Dropped(numbered[first][0], numbered[first][1], "web page leftovers before the report"))
        first += 1
    del numbered[:first]
    for i, (_n, ln) in enumerate(numbered):
        if TRAILER_RE.match(ln):
            dropped.extend(
                Dropped(m, t, "web page leftovers after the report (related links)") for m, t in numbered[i:]
            )
            del numbered[i:]
            break
    if not numbered:
        raise ReportError("only web page leftovers, no report text", source=source, line=1)

    # The byline ("记者 梁耀华") is metadata glued to the last non-empty line.
    byline: str | None = None
    last_n, last_line = numbered[-1]
    m = BYLINE_RE.search(last_line)
    if m:
        byline = " ".join(m.group("byline").split())
        numbered[-1] = (last_n, last_line[: m.start()].strip())

    detected = shape or detect_shape([ln for _, ln in numbered if ln])
    if detected is None:
        raise ReportError(
            "no sentence structure found: this does not look like a report.\n" + SHAPE_HELP,
            source=source,
            line=numbered[0][0],
        )
    b = _Builder()
    targets: list[Target] = []
    lead: list[str] = []
    if detected == "keyword-summary":
        _keyword_summary(numbered, b, lead, source)
    elif detected == "bullet-summary":
        _bullet_summary(numbered, b, lead, targets)
    else:
        _full_report(numbered, b, lead, targets, full=detected == "full-report")
    if not b.raw_items and not any(d.paragraphs for d in b.domains.values()):
        if detected == "keyword-summary":
            raise ReportError("no '◆' items found", source=source, line=next(iter(b.domains.values())).line)
        msg = f"no items found: no sentence names an action, a place or a quantity ({detected}).\n{SHAPE_HELP}"
        raise ReportError(msg, source=source, line=numbered[0][0])
    for d in b.domains.values():
        if d.part == "targets" or "目标" in d.name:
            for p in d.paragraphs:
                targets.extend(targets_from_text(p))
    title = next((ln for ln in lead if TITLE_RE.match(ln)), None)
    report_city = city_of_report(title=title, lead=lead, lines=[ln for _, ln in numbered], override=city)
    return _assemble(
        b,
        source=source,
        encoding=encoding,
        lead=lead,
        targets=targets,
        byline=byline,
        shape=detected,
        city=report_city,
        title=title,
        dropped=dropped,
    )


def _keyword_summary(numbered: list[tuple[int, str]], b: _Builder, lead: list[str], source: str) -> None:
    """The news summary: 关键词: domains, □ sections, ◆ items, wrapped lines continuing the item above."""
    for lineno, line in numbered:
        if not line:
            continue
        dm = DOMAIN_RE.match(line)
        if dm:
            name = normalize_text(dm.group("name"))
            if not name:
                raise ReportError("domain heading '关键词:' without a name", source=source, line=lineno)
            b.domain(name, lineno, part_of(name))
            continue
        marker = line[0]
        if marker in SECTION_MARKERS:
            if b.current is None:
                raise ReportError(f"section '{marker}' before any '关键词:' domain", source=source, line=lineno)
            b.section(normalize_text(line[1:]).rstrip("。．."), lineno, b.current.part)
            continue
        if marker in ITEM_MARKERS:
            if b.current is None:
                raise ReportError(f"item '{marker}' before any '关键词:' domain", source=source, line=lineno)
            body = line[1:]
            if not normalize_text(body):
                raise ReportError(f"item marker '{marker}' without text", source=source, line=lineno)
            b.item(body, lineno, b.current.part)
            continue
        _plain_line(b, lead, lineno, line)


def _plain_line(b: _Builder, lead: list[str], lineno: int, line: str) -> None:
    """Lead text before the first domain, a paragraph before a domain's first item, else a continuation."""
    if b.current is None:
        lead.append(normalize_text(line))
    elif b.last_item is not None:
        b.last_item.parts.append(line)
        b.last_item.lines.append(lineno)
    else:
        b.current.paragraphs.append(normalize_text(line))


def _bullet_summary(numbered: list[tuple[int, str]], b: _Builder, lead: list[str], targets: list[Target]) -> None:
    """Items marked ● • ■ ▲ ★ ◆ 1. 1、 （1） under □ / 【…】 / 一、 / （一） / bare short headings."""
    domain_style: str | None = None
    for i, (lineno, line) in enumerate(numbered):
        im = BULLET_ITEM_RE.match(line)
        if im and normalize_text(im["body"]):
            b.item(im["body"], lineno, b.current.part if b.current else "plan")
            continue
        style, title = _heading(line, numbered[i + 1][1] if i + 1 < len(numbered) else "")
        if style is not None and title:
            if style in ("square", "paren") or (domain_style is not None and style != domain_style):
                b.section(title, lineno, b.current.part if b.current else "plan")
            else:
                domain_style = style
                b.domain(title, lineno, part_of(title))
            continue
        tm = TARGETS_RE.search(line) if b.current is not None and b.last_item is None else None
        if tm is not None and b.current is not None:
            targets.extend(targets_from_text(line[tm.end() :]))
            b.current.paragraphs.append(normalize_text(line))
            continue
        _plain_line(b, lead, lineno, line)


def _heading(line: str, following: str) -> tuple[str | None, str]:
    """The heading style of a line (and its title), or ``(None, "")``."""
    if not line:
        return None, ""
    if line[0] in SECTION_MARKERS:
        return "square", normalize_text(line[1:]).rstrip("。．.")
    m = BRACKET_HEADING_RE.match(line)
    if m:
        return "bracket", normalize_text(m["title"])
    chapter = _chapter_title(line)
    if chapter is not None:
        return "chapter", chapter
    m = PAREN_SECTION_RE.match(line)
    if m and _is_heading(m["title"]):
        return "paren", normalize_text(m["title"]).rstrip("。．.")
    if len(line) <= 12 and _is_heading(line) and following and BULLET_ITEM_RE.match(following):
        return "bare", normalize_text(line).rstrip("。．.")
    return None, ""


def _chapter_title(line: str) -> str | None:
    """The title of a chapter heading line (``一、2025年工作回顾``), or None."""
    m = CHAPTER_RE.match(line)
    return normalize_text(m["title"]).rstrip("。．.") if m and _is_heading(m["title"]) else None


def _full_report(
    numbered: list[tuple[int, str]], b: _Builder, lead: list[str], targets: list[Target], *, full: bool
) -> None:
    """The official report (or an excerpt of one): chapters, sections, run-in leads, prose sentences."""
    start = 0
    if full:
        # Front matter: title, venue, source, date, speaker, photo caption, up to 各位代表： or the first chapter.
        for i, (_n, ln) in enumerate(numbered[:40]):
            if ln.startswith("各位代表"):
                start = i + 1
                break
            if _chapter_title(ln) is not None:
                start = i
                break
        lead.extend(normalize_text(ln) for _, ln in numbered[:start])
    part = "plan"
    for lineno, line in numbered[start:]:
        chapter = _chapter_title(line)
        if chapter is not None:
            part = part_of(chapter)
            b.domain(chapter, lineno, part)
            continue
        m = PAREN_SECTION_RE.match(line) or ORDINAL_RUNIN_RE.match(line)
        if m:
            rest = m.groupdict().get("rest")
            body = m["title"] + ("。" + rest if rest else "")
            if _is_heading(body):
                b.section(normalize_text(body).rstrip("。．."), lineno, part)
                continue
            sentences = split_sentences(normalize_text(body))
            b.section(sentences[0].rstrip("。；;，,"), lineno, part)
            rest = "".join(sentences[1:])
            if rest:
                b.prose(rest, lineno, part, targets=targets)
            continue
        if b.current is None and (full or (_is_heading(line) and len(line) <= 20 and not lead)):
            lead.append(normalize_text(line))  # the opening before the first chapter; an excerpt's title line
            continue
        dm = DASH_RE.match(line) or BULLET_ITEM_RE.match(line)
        body = normalize_text(dm.group(1) if dm else line)
        if not body:
            continue
        if line.startswith("各位代表") or (b.current is None and _is_heading(body) and full):
            b.context(body, lineno, part)
            continue
        b.prose(body, lineno, part, targets=targets)


def _assemble(
    b: _Builder,
    *,
    source: str,
    encoding: str,
    lead: list[str],
    targets: list[Target],
    byline: str | None,
    shape: str,
    city: ReportCity,
    title: str | None,
    dropped: list[Dropped],
) -> Report:
    for ri in b.raw_items:
        ri.text = normalize_text(" ".join(ri.parts))
    canonical = _merge_repeats(b.raw_items)
    id_of_text = _ids(canonical.values())
    items: dict[str, Item] = {}
    occurrences: dict[str, list[Occurrence]] = {}
    texts: dict[str, str] = {}
    for ri in b.raw_items:
        text = canonical[id(ri)]
        iid = id_of_text[text]
        texts[iid] = text
        occurrences.setdefault(iid, []).append(ri.occurrence)
    for iid, text in texts.items():
        actions = actions_from_text(text)
        items[iid] = Item(
            id=iid,
            text=text,
            occurrences=tuple(occurrences[iid]),
            quantities=quantities_from_text(text),
            actions=actions,
            status=status_from_actions(actions),
        )
    out_domains: list[Domain] = []
    for d in b.domains.values():
        out_sections = []
        for sec in d.sections:
            # dict, not list: a membership test per item was quadratic in the section's size
            ids = dict.fromkeys(id_of_text[canonical[id(ri)]] for ri in sec.items)
            out_sections.append(
                Section(title=sec.title, line=sec.line, item_ids=tuple(ids), context=tuple(sec.context))
            )
        out_domains.append(
            Domain(name=d.name, line=d.line, sections=tuple(out_sections), paragraphs=tuple(d.paragraphs), part=d.part)
        )
    return Report(
        source=source,
        lead=tuple(lead),
        domains=tuple(out_domains),
        items=tuple(items.values()),
        targets=tuple(targets),
        byline=byline,
        encoding=encoding,
        shape=shape,
        city=city,
        title=title,
        dropped=tuple(dropped),
    )


def _ids(texts: Iterable[str]) -> dict[str, str]:
    """Each distinct text's id; a text whose 40-bit id another text already holds gets a longer one.

    Ids of texts that collide with nothing are today's (and the corrections keyed by them stay valid); two
    different texts are never merged.
    """
    id_of_text: dict[str, str] = {}
    text_of_id: dict[str, str] = {}
    for text in texts:
        if text in id_of_text:
            continue
        digest = hashlib.sha1(item_key(text).encode("utf-8")).hexdigest()
        n = 10
        iid = "it-" + digest[:n]
        while iid in text_of_id and item_key(text_of_id[iid]) != item_key(text):
            n += 2
            iid = "it-" + digest[:n]
        id_of_text[text] = iid
        text_of_id.setdefault(iid, text)
    return id_of_text


#: Items longer than this are never looked for inside other items (a repeat is a sentence, not a chapter); it
#: keeps the automaton shallow (pyahocorasick recursed to a crash freeing a 550k-character word).
MAX_REPEAT_CHARS = 2000


def _merge_repeats(raw_items: list[_RawItem]) -> dict[int, str]:
    """Map each raw item to the text of the item it repeats: itself, or the longest item containing it.

    Linear in the text: each item is scanned once for the longest keys it holds (``iter_long``), excluding
    itself; a key contained only in another key's shorter neighbours is resolved through that neighbour.
    """
    keys = {id(ri): item_key(ri.text) for ri in raw_items}
    longest: dict[str, str] = {}  # key -> normalised text of its first occurrence
    for ri in raw_items:
        longest.setdefault(keys[id(ri)], ri.text)
    unique = sorted(longest, key=lambda k: (-len(k), k))
    automaton = ahocorasick.Automaton()
    for k in unique:
        if len(k) <= MAX_REPEAT_CHARS:
            automaton.add_word(k, k)
    container: dict[str, str] = {}
    if len(automaton):
        automaton.make_automaton()
        # Longest first, so a container has already been resolved to its own container.
        for k in unique:
            if len(k) < 2:
                continue
            for part in (k[1:], k[:-1]):  # every proper substring lies in one of these
                for _end, inner in automaton.iter_long(part):
                    if inner != k and inner not in container:
                        container[inner] = container.get(k, k)
    return {id(ri): longest[container.get(keys[id(ri)], keys[id(ri)])] for ri in raw_items}


def _admin_or_none() -> AdminIndex | None:
    try:
        return admin_index()
    except GeoplanError:
        return None


def _unit_in(who: str, index: AdminIndex) -> AdminUnit | None:
    """The longest administrative name that ``who`` ends with (``2026年1月25日在北京市`` → 北京市)."""
    for i in range(len(who) - 1):
        tail = who[i:]
        unit = index.find(tail)
        if unit is not None and (unit.name == tail or unit.level != "county"):
            return unit
    return None


def city_of_report(
    *, title: str | None, lead: Sequence[str], lines: Sequence[str], override: str | None = None
) -> ReportCity:
    """Whose report it is: ``--city``, the title, the venue, the speaker, the names it mentions, the default."""
    index = _admin_or_none()
    if override:
        unit = index.find(override) if index else None
        if unit is None and index is not None:
            raise ReportError(f"unknown city {override!r}: not an administrative unit of China", source="--city")
        return _city(unit, override, "option")
    if index is None:
        return ReportCity(settings.default_city, settings.default_city_adcode, "default")
    # The front matter's lines, each cut short: a venue or speaker is near the start of a line, and the
    # regexes try every position (a 2 MB line would take seconds).
    head = [ln[:200] for ln in (*lead, *lines[:8])]
    if title:
        m = TITLE_RE.match(title)
        unit = _unit_in(m["who"], index) if m else None
        if unit:
            return _city(unit, unit.name, "title")
    for rule, regex in (("venue", VENUE_RE), ("speaker", SPEAKER_RE)):
        for ln in head:
            for m in regex.finditer(ln):
                unit = _unit_in(m["who"], index)
                if unit:
                    return _city(unit, unit.name, rule)
    unit = _city_from_mentions(lines, index)
    if unit is not None:
        return _city(unit, unit.name, "mentions")
    default = index.find(settings.default_city)
    return _city(default, settings.default_city, "default")


def _city(unit: AdminUnit | None, name: str, rule: str) -> ReportCity:
    if unit is None:
        return ReportCity(name, None, rule)
    return ReportCity(unit.name, unit.adcode, rule, "city" if unit.is_municipality else unit.kind)


@cache
def _mention_automaton(root: object) -> ahocorasick.Automaton:
    index = admin_index()
    forms: dict[str, list[str]] = {}
    for u in index.units.values():
        for n in (u.name, *u.aliases):
            if len(n) >= 3 or (n in u.aliases and len(n) == 2):
                forms.setdefault(n, []).append(u.adcode)
    a = ahocorasick.Automaton()
    for n, codes in forms.items():
        a.add_word(n, tuple(codes))
    a.make_automaton()
    return a


def _city_from_mentions(lines: Sequence[str], index: AdminIndex) -> AdminUnit | None:
    """The city whose units the text names most, when it clearly leads (each name's weight split if shared)."""
    automaton = _mention_automaton(index.root)
    scores: dict[str, float] = {}
    for ln in lines:
        for _end, codes in automaton.iter_long(ln):
            cities = {index.city_of(index.units[c]).adcode for c in codes}
            for c in cities:
                scores[c] = scores.get(c, 0.0) + 1.0 / len(cities)
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if score >= 2 and score >= 1.5 * runner:
        return index.units[best]
    return None


def report_from_bytes(
    data: bytes, *, source: str = "<bytes>", shape: str | None = None, city: str | None = None
) -> Report:
    """Decode and parse report bytes (UTF-8 with or without BOM, UTF-16 with BOM, or GB18030)."""
    text, encoding = decode_report(data, source=source)
    return report_from_text(text, source=source, encoding=encoding, shape=shape, city=city)


def report_from_path(
    path: str | Path, *, max_bytes: int | None = None, shape: str | None = None, city: str | None = None
) -> Report:
    """Read and parse a report file; errors name the file and the line."""
    p = Path(path)
    return report_from_bytes(read_report_bytes(p, max_bytes=max_bytes), source=str(p), shape=shape, city=city)


def read_report_bytes(p: Path, *, max_bytes: int | None = None) -> bytes:
    """A report file's bytes (a regular file, at most ``max_bytes``); a ``ReportError`` naming the file otherwise.
    ``geoplan prepare`` reads a report with it too, to parse it under the name the app gives an upload."""
    try:
        # A FIFO or a device would block or never end: refuse before opening what is no regular file.
        if not stat.S_ISREG(p.stat().st_mode):
            raise ReportError("not a regular file (a pipe, device or folder); give a text file", source=str(p))
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise too_large(p, size, max_bytes)
            # Never more than the limit: a growing file reports a size it does not keep to.
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except OSError as err:
        raise ReportError(f"cannot read file: {err.strerror}", source=str(p)) from err
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(p, len(data), max_bytes)
    return data


def too_large(p: Path, size: int, max_bytes: int) -> ReportError:
    """The error for a file over the size limit (the CLI and the GeoJSON reader share it)."""
    msg = (
        f"file is {size:,} bytes, larger than the limit of {max_bytes:,} bytes "
        "(settings.max_report_bytes); split the report or raise the limit"
    )
    return ReportError(msg, source=str(p), line=1)
