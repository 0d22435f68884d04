"""Parse a work-report text into a ``Report``: domains, sections, items, targets.

The reports come as news summaries pasted from web pages, so the parser expects layout noise
(stray spaces inside Chinese phrases, CRLF, a BOM, GB18030 files, full-width colons, a byline glued
to the last item) and repeats (the same item under two headings). It never drops a source line:
every item line maps to exactly one ``Item``, repeats keep every occurrence.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick

from geoplan.errors import ReportError
from geoplan.models import Domain, Item, Occurrence, Quantity, Report, Section, Status, Target

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
QUANTITY_RE = re.compile(
    rf"(?P<value>\d+(?:\.\d+)?)(?P<unit>{_UNITS})(?P<qualifier>左右|以上|以下|以内|上下)?"
)
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
        Quantity(text=m.group(0), value=float(m.group("value")), unit=m.group("unit"),
                 qualifier=m.group("qualifier"))
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
            targets.append(Target(name=m.group("name"), text=clause, value=float(m.group("value")),
                                  unit=m.group("unit"), qualifier=m.group("qualifier")))
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
            raise ReportError(f"cannot decode bytes as UTF-16 (byte {err.start})", source=source,
                              line=line) from err
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReportError("binary data (NUL byte), not a text report", source=source,
                          line=data.count(b"\n", 0, nul) + 1)
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
    text: str
    occurrence: Occurrence
    lines: list[int] = field(default_factory=list)


# Control characters (Unicode category Cc) other than tab and line ends: a report never holds them.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_text(text: str, source: str) -> None:
    m = _CONTROL_RE.search(text)  # one regex pass: a per-character loop takes seconds on a 50 MB file
    if m:
        lineno = text.count("\n", 0, m.start()) + 1
        raise ReportError(f"control character {m.group()!r}: not a text report", source=source, line=lineno)


def report_from_text(text: str, *, source: str = "<text>", encoding: str = "utf-8") -> Report:
    """Parse report text; raise ``ReportError`` naming ``source`` and the line when it is not a report."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ReportError("the report is empty", source=source, line=1)
    _check_text(text, source)
    lines = text.split("\n")

    # The byline ("记者 梁耀华") is metadata glued to the last non-empty line.
    byline: str | None = None
    last = max((i for i, ln in enumerate(lines) if ln.strip()), default=None)
    if last is not None:
        m = BYLINE_RE.search(lines[last])
        if m:
            byline = " ".join(m.group("byline").split())
            lines[last] = lines[last][: m.start()]

    lead: list[str] = []
    domains: list[tuple[str, int, list[tuple[str | None, int | None, list[_RawItem]]], list[str]]] = []
    raw_items: list[_RawItem] = []
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip().strip(_INVISIBLE).strip()
        if not line:
            continue
        dm = DOMAIN_RE.match(line)
        if dm:
            name = normalize_text(dm.group("name"))
            if not name:
                raise ReportError("domain heading '关键词:' without a name", source=source, line=lineno)
            domains.append((name, lineno, [], []))
            continue
        marker = line[0]
        if marker in SECTION_MARKERS:
            if not domains:
                msg = f"section '{marker}' before any '关键词:' domain"
                raise ReportError(msg, source=source, line=lineno)
            title = normalize_text(line[1:]).rstrip("。．.")
            domains[-1][2].append((title or None, lineno, []))
            continue
        if marker in ITEM_MARKERS:
            if not domains:
                raise ReportError(f"item '{marker}' before any '关键词:' domain", source=source, line=lineno)
            body = normalize_text(line[1:])
            if not body:
                raise ReportError(f"item marker '{marker}' without text", source=source, line=lineno)
            sections = domains[-1][2]
            if not sections:
                sections.append((None, None, []))
            title = sections[-1][0]
            ri = _RawItem(body, Occurrence(domains[-1][0], title, lineno), [lineno])
            sections[-1][2].append(ri)
            raw_items.append(ri)
            continue
        # A plain line: lead text before the first domain, a paragraph before a domain's first item,
        # otherwise the wrapped continuation of the item above it.
        if not domains:
            lead.append(normalize_text(line))
        elif domains[-1][2] and domains[-1][2][-1][2]:
            prev = domains[-1][2][-1][2][-1]
            prev.text = normalize_text(prev.text + " " + line)
            prev.lines.append(lineno)
        else:
            domains[-1][3].append(normalize_text(line))

    if not domains:
        raise ReportError("no '关键词:' domain heading found: this does not look like a work report",
                          source=source, line=1)
    if not raw_items and not any(d[3] for d in domains):
        raise ReportError("no '◆' items found", source=source, line=domains[0][1])

    canonical = _merge_repeats(raw_items)
    id_of_text: dict[str, str] = {}  # each distinct text hashed once (NFKC dominates on large files)
    for text in canonical.values():
        if text not in id_of_text:
            id_of_text[text] = item_id(text)
    items: dict[str, Item] = {}
    occurrences: dict[str, list[Occurrence]] = {}
    texts: dict[str, str] = {}
    for ri in raw_items:
        text = canonical[id(ri)]
        iid = id_of_text[text]
        texts[iid] = text
        occurrences.setdefault(iid, []).append(ri.occurrence)
    for iid, text in texts.items():
        actions = actions_from_text(text)
        items[iid] = Item(id=iid, text=text, occurrences=tuple(occurrences[iid]),
                          quantities=quantities_from_text(text), actions=actions,
                          status=status_from_actions(actions))

    out_domains: list[Domain] = []
    targets: list[Target] = []
    for name, lineno, sections, paragraphs in domains:
        out_sections = []
        for title, sline, sitems in sections:
            # dict, not list: a membership test per item was quadratic in the section's size
            ids = dict.fromkeys(id_of_text[canonical[id(ri)]] for ri in sitems)
            out_sections.append(Section(title=title, line=sline, item_ids=tuple(ids)))
        out_domains.append(Domain(name=name, line=lineno, sections=tuple(out_sections),
                                  paragraphs=tuple(paragraphs)))
        if "目标" in name:
            for p in paragraphs:
                targets.extend(targets_from_text(p))
    return Report(source=source, lead=tuple(lead), domains=tuple(out_domains), items=tuple(items.values()),
                  targets=tuple(targets), byline=byline, encoding=encoding)


def _merge_repeats(raw_items: list[_RawItem]) -> dict[int, str]:
    """Map each raw item to the text of the item it repeats: itself, or the longest item containing it."""
    keys = {id(ri): item_key(ri.text) for ri in raw_items}
    longest: dict[str, str] = {}  # key -> normalised text of its first occurrence
    for ri in raw_items:
        longest.setdefault(keys[id(ri)], ri.text)
    unique = sorted(longest, key=lambda k: (-len(k), k))
    automaton = ahocorasick.Automaton()
    for k in unique:
        automaton.add_word(k, k)
    automaton.make_automaton()
    container: dict[str, str] = {}
    # Longest first, so a container has already been resolved to its own container.
    for k in unique:
        for _end, inner in automaton.iter(k):
            if inner != k and inner not in container:
                container[inner] = container.get(k, k)
    return {id(ri): longest[container.get(keys[id(ri)], keys[id(ri)])] for ri in raw_items}


def report_from_bytes(data: bytes, *, source: str = "<bytes>") -> Report:
    """Decode and parse report bytes (UTF-8 with or without BOM, or GB18030)."""
    text, encoding = decode_report(data, source=source)
    return report_from_text(text, source=source, encoding=encoding)


def report_from_path(path: str | Path, *, max_bytes: int | None = None) -> Report:
    """Read and parse a report file; errors name the file and the line."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise _too_large(p, size, max_bytes)
            # Never more than the limit: a device or a growing file reports a size it does not keep to.
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except OSError as err:
        raise ReportError(f"cannot read file: {err.strerror}", source=str(p)) from err
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_large(p, len(data), max_bytes)
    return report_from_bytes(data, source=str(p))


def _too_large(p: Path, size: int, max_bytes: int) -> ReportError:
    msg = (f"file is {size:,} bytes, larger than the limit of {max_bytes:,} bytes "
           "(settings.max_report_bytes); split the report or raise the limit")
    return ReportError(msg, source=str(p), line=1)
