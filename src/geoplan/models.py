"""Records that flow between the pipeline stages: frozen, so a stage can never edit another's output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry


class Status(StrEnum):
    """What the report says is happening to a project (the small vocabulary in README)."""

    PLANNING = "planning"
    PREPARATORY = "preparatory"
    STARTING = "starting"
    NEW_BUILD = "new_build"
    UNDER_CONSTRUCTION = "under_construction"
    CONTINUING = "continuing"
    COMPLETING = "completing"
    ONGOING_POLICY = "ongoing_policy"

    @property
    def label_zh(self) -> str:
        return STATUS_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return STATUS_LABELS[self][1]


STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.PLANNING: ("规划", "planning"),
    Status.PREPARATORY: ("前期", "preparatory work"),
    Status.STARTING: ("启动", "starting"),
    Status.NEW_BUILD: ("新建", "new build"),
    Status.UNDER_CONSTRUCTION: ("在建", "under construction"),
    Status.CONTINUING: ("续建", "continuing"),
    Status.COMPLETING: ("建成投用", "completing"),
    Status.ONGOING_POLICY: ("持续推进", "ongoing policy"),
}


#: Where in the report an item stands: what was done (``review``), this year's plan, the targets, or the
#: government's own work (政府自身建设). A planner can show the plan alone.
PARTS: tuple[str, ...] = ("review", "plan", "targets", "government")
#: The report shapes the parser reads.
SHAPES: tuple[str, ...] = ("keyword-summary", "bullet-summary", "full-report", "excerpt")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Where an item stands in the source: a merged repeat keeps one of these per line.

    ``topic`` is the run-in lead sentence of its paragraph (``扩大有效投资。…``), when there is one.
    """

    domain: str
    section: str | None
    line: int
    part: str = "plan"
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with its unit as the report writes it (``2.4万个``: value 2.4, unit 万个)."""

    text: str
    value: float
    unit: str
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One ``◆`` line (or several identical ones), the unit every feature points back to."""

    id: str
    text: str
    occurrences: tuple[Occurrence, ...]
    quantities: tuple[Quantity, ...] = ()
    actions: tuple[str, ...] = ()
    status: Status = Status.ONGOING_POLICY

    @property
    def domain(self) -> str:
        return self.occurrences[0].domain

    @property
    def section(self) -> str | None:
        return self.occurrences[0].section

    @property
    def line(self) -> int:
        return self.occurrences[0].line

    @property
    def part(self) -> str:
        return self.occurrences[0].part

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "status": str(self.status),
            "part": self.part,
            "actions": list(self.actions),
            "quantities": [asdict(q) for q in self.quantities],
            "occurrences": [asdict(o) for o in self.occurrences],
        }


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of the report that is no item (rhetoric, thanks, a lead phrase): kept as context."""

    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A ``□`` or ``（一）`` heading; ``title`` is None for items that sit in a domain before any heading."""

    title: str | None
    line: int | None
    item_ids: tuple[str, ...]
    context: tuple[Sentence, ...] = ()


@dataclass(frozen=True, slots=True)
class Domain:
    """A ``关键词:`` block or a chapter (``一、``): one policy domain, one map layer."""

    name: str
    line: int
    sections: tuple[Section, ...]
    paragraphs: tuple[str, ...] = ()
    part: str = "plan"


@dataclass(frozen=True, slots=True)
class ReportCity:
    """Whose report it is, and which rule said so (title, venue, speaker, mentions, default, option)."""

    name: str
    adcode: str | None
    rule: str
    kind: str = "city"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "adcode": self.adcode, "rule": self.rule, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class Dropped:
    """A source line the parser recognised as web-page leftovers, not report text."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Target:
    """One indicator of the 主要预期目标 paragraph (``城镇新增就业8万人``)."""

    name: str
    text: str
    value: float | None = None
    unit: str | None = None
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A parsed report: everything a later stage needs, nothing of the raw bytes."""

    source: str
    lead: tuple[str, ...]
    domains: tuple[Domain, ...]
    items: tuple[Item, ...]
    targets: tuple[Target, ...] = ()
    byline: str | None = None
    encoding: str = "utf-8"
    shape: str = "keyword-summary"
    city: ReportCity | None = None
    title: str | None = None
    dropped: tuple[Dropped, ...] = ()

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def to_dict(self) -> dict[str, Any]:
        by_id = {it.id: it for it in self.items}
        return {
            "source": self.source,
            "shape": self.shape,
            "city": self.city.to_dict() if self.city else None,
            "title": self.title,
            "lead": list(self.lead),
            "byline": self.byline,
            "targets": [asdict(t) for t in self.targets],
            "domains": [
                {
                    "name": d.name,
                    "line": d.line,
                    "part": d.part,
                    "paragraphs": list(d.paragraphs),
                    "sections": [
                        {
                            "title": s.title,
                            "line": s.line,
                            "items": [by_id[i].to_dict() for i in s.item_ids],
                            "context": [asdict(c) for c in s.context],
                        }
                        for s in d.sections
                    ],
                }
                for d in self.domains
            ],
            "dropped": [asdict(d) for d in self.dropped],
        }


@dataclass(frozen=True, slots=True)
class Mention:
    """A gazetteer name found in an item's text."""

    item_id: str
    name: str
    matched: str
    start: int
    end: int
    status: Status | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A geocoder's answer: geometry in WGS84 plus how much to trust it and where it came from."""

    name: str
    kind: str
    geometry: BaseGeometry | None
    precision: str
    source: str
    confidence: str
    geocoder: str = "gazetteer"
    source_url: str | None = None
    datum: str = "WGS84"
    converted_from: str | None = None
    status: str = "existing"
    district: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
