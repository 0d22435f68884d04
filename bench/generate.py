"""Generate synthetic work reports and feature sets of any size from the gazetteer's own names.

The sentences follow the shipped Taiyuan report (``◆实施{road}维修改造工程,启动{station}建设。``):
ten realistic policy domains with their ``□`` sections, items that name one or two gazetteer places
(names and aliases, as reports write them), items that name no place (city-wide policy), items that
name a place the gazetteer lacks (unlocated), and items repeated verbatim under a later heading, as
the shipped report repeats five of its items. Same ``seed``, same text.

    .venv/bin/python bench/generate.py 10000 --seed 7 -o /tmp/report-10k.txt
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np

from geoplan.gazetteer import Gazetteer, load_gazetteer

# Domain -> its sections, as a city's work report words them.
DOMAINS: dict[str, tuple[str, ...]] = {
    "消费": ("让更多消费者有钱花", "让更多消费者有钱愿意花", "让更多消费者花钱花得值"),
    "城乡融合发展": (
        "谋深虑远城市更新大文章",
        "打好品质提升攻坚战",
        "大力推进县域提能和乡村振兴",
        "坚持“体检、更新”一体化推进",
    ),
    "环境": ("持续打好“三大保卫战”", "强化生态治理", "推动绿色转型"),
    "民生": ("推进“学有优教”", "推进“病有良医”", "推进“老有厚养”", "推进“住有宜居”", "推进“弱有众扶”"),
    "科技创新": ("建设区域科技创新中心", "培育壮大创新主体", "优化创新生态"),
    "产业转型": ("做强先进制造业", "培育战略性新兴产业", "发展现代服务业"),
    "交通": ("完善城市路网", "加快轨道交通建设", "提升对外通道能力"),
    "文化旅游": ("擦亮历史文化名城名片", "推动文旅深度融合"),
    "改革开放": ("深化重点领域改革", "扩大高水平对外开放"),
    "安全发展": ("守牢安全生产底线", "提升城市韧性"),
}

# Item templates by the kind of place they name. {n}/{m}/{x} are numbers, {p}/{q} place names.
PLACE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "road": (
        "实施{p}维修改造工程,启动{q}建设。",
        "推进{p}打通等工程,加快燃气、供热、排水等地下老旧管线改造{n}公里。",
        "实施{p}综合整治,新增停车泊位{m}个。",
        "完成{p}人行道和绿化提质,打造城市景观示范路{n}公里。",
    ),
    "station": (
        "启动{p}建设,同步新建周边交通接驳设施{n}处。",
        "加快{p}片区开发,新增公交线路{n}条。",
        "建成投用{p}综合交通枢纽配套工程,新增换乘车位{m}个。",
    ),
    "bridge": (
        "推进{p}、{q}打通等工程,年内新增城市道路{n}公里。",
        "加快{p}改造提升,完成桥梁检测{m}座。",
    ),
    "metro_line": (
        "推进{p}前期工作,完成勘察设计{n}公里。",
        "加快{p}建设,完成投资{x}亿元。",
        "持续推进{p}续建工程,新建车站{n}座。",
    ),
    "area": (
        "加快{p}生态治理,深入推进“百园兴绿”,打造口袋游园、街头绿地、美丽街巷{n}处。",
        "实施{p}综合开发,新增绿地{x}万平方米。",
    ),
    "spring": (
        "推动{p}水位持续回升{x}米、{q}稳定复流。",
        "综合实施地下水关井压采,推动{p}水位回升{x}米。",
    ),
    "river": (
        "实施{p}沿岸生态修复工程,新增滨水步道{n}公里。",
        "加快推进{p}流域综合治理,治理河道{n}公里。",
    ),
    "school": (
        "推动{p}等{n}个新改扩建项目建成投用,新增学位{m}个。",
        "加快{p}建设,新增学位{m}个。",
    ),
    "university": (
        "加快筹设{p},支持{q}建设一流应用型本科院校。",
        "支持{p}建设产教融合实训基地{n}个。",
    ),
    "hospital": (
        "推动{p}建成安宁疗护中心,新增床位{m}张。",
        "支持{p}建设区域医疗中心,新增床位{m}张。",
    ),
    "district": (
        "支持{p}加快打造“城市融合型县城”示范样板,实施项目{n}个。",
        "统筹推进{p}、{q}不断完善基础设施建设,总投资{x}亿元。",
        "推动{p}建设特色产业园区{n}个。",
    ),
}
# A second clause after an item (reports give investment and beneficiaries), so that two items of
# the same template and place rarely coincide by chance: repeats come from ``p_repeat`` only.
CLAUSES: tuple[str, ...] = (
    ",总投资{x}亿元",
    ",带动就业{m}人",
    ",惠及群众{m}人",
    ",年内投资{x}亿元",
    ",涉及{n}个社区",
    "",
)
# Items that name no place: city-wide policy, as most of the shipped report's items are.
NO_PLACE_TEMPLATES: tuple[str, ...] = (
    "精准落实好重点群体增收减负、奖优助困、养老金增长、医保财政补助等增量政策,惠及群众{m}人。",
    "加快推进公共就业服务能力提升示范项目,举办各类就业招聘会{n}场以上。",
    "大力开展项目化、订单式培训,完成政府补贴性技能培训{x}万人。",
    "持续实施{m}个续建老旧小区改造,新开工{n}个老旧小区改造。",
    "新建公办幼儿园{n}所,新增学位{m}个,鼓励小区配套幼儿园办成公办园。",
    "推进生活垃圾分类,培育绿色建筑等新增长点,新增再生资源回收站点{n}个。",
    "稳步推进保障性住房建设,筹集保障性租赁住房{m}套。",
    "深化“放管服”改革,新增市场主体{x}万户。",
    "支持企业开展技术改造,实施重点技改项目{n}项。",
    "全方位推进“无废城市”建设,一般工业固废综合利用率达到{n}%以上。",
    "加力落实“两新”扩围政策,带动设备更新投资{x}亿元。",
    "新建改造一批城镇社区养老中心、农村老年食堂,新增养老床位{m}张。",
)
# Places the gazetteer lacks (real Taiyuan names): the linker reports them unresolved, unlocated.
UNKNOWN_PLACES: tuple[str, ...] = (
    "滨河东路",
    "长风大街",
    "龙城大街",
    "太原南站",
    "晋阳湖公园",
    "太原植物园",
    "山西大学",
    "汾东商务区",
    "太原武宿国际机场",
    "柳巷步行街",
    "钟楼街",
    "双塔寺公园",
)
UNKNOWN_TEMPLATES: tuple[str, ...] = (
    "加快{u}提质改造,新增停车泊位{m}个。",
    "启动{u}周边综合整治工程,整治街巷{n}条。",
    "推进{u}建设,完成投资{x}亿元。",
)
LEAD = (
    "2月25日,太原市第十五届人民代表大会第五次会议开幕,代市长作政府工作报告。",
    "今年是“十四五”规划收官之年。太原市的重点工作有很多,我们挑出一些大家可能关心的,一起来看看。",
)
TARGETS = (
    "地区生产总值增长5%左右,固定资产投资增长6%以上,社会消费品零售总额增长5%以上,"
    "城镇新增就业8万人,居民消费价格涨幅2%左右。"
)
BYLINE = " 记者 梁耀华"
KIND_GROUPS = {"county": "district", "county_city": "district"}


def _names_by_kind(gaz: Gazetteer) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Kind -> the surface names of each place of that kind (its name first, then aliases)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for e in gaz.entries:
        if e.kind == "city":
            continue
        kind = KIND_GROUPS.get(e.kind, e.kind)
        out.setdefault(kind, []).append((e.name, *e.aliases))
    return {k: tuple(v) for k, v in out.items() if k in PLACE_TEMPLATES}


def _numbers(rng: random.Random) -> dict[str, object]:
    return {"n": rng.randint(2, 199), "m": rng.randint(100, 99999), "x": round(rng.uniform(0.5, 999.5), 1)}


def _place_item(rng: random.Random, names: dict[str, tuple[tuple[str, ...], ...]]) -> str:
    kind = rng.choice(sorted(names))
    places = names[kind]
    # A kind with one place (幸福桥) cannot fill two slots with two places.
    templates = [t for t in PLACE_TEMPLATES[kind] if len(places) > 1 or "{q}" not in t]
    template = rng.choice(templates)
    i = rng.randrange(len(places))
    j = (i + 1 + rng.randrange(len(places) - 1)) % len(places) if len(places) > 1 else i  # another place
    p, q = places[i], places[j]

    # Reports use the canonical name most of the time and an alias now and then.
    def pick(forms: tuple[str, ...]) -> str:
        return forms[0] if rng.random() < 0.7 else rng.choice(forms)

    return _with_clause(rng, template.format(p=pick(p), q=pick(q), **_numbers(rng)))


def _with_clause(rng: random.Random, text: str) -> str:
    return text[:-1] + rng.choice(CLAUSES).format(**_numbers(rng)) + "。"


def generate_report(
    n_items: int,
    seed: int = 0,
    *,
    p_no_place: float = 0.20,
    p_unknown: float = 0.05,
    p_repeat: float = 0.03,
    gazetteer: Gazetteer | None = None,
) -> str:
    """A report of ``n_items`` ``◆`` lines (repeats included) in the shipped report's format.

    ``p_no_place`` of the items name no place (city-wide), ``p_unknown`` name a place the gazetteer
    lacks, ``p_repeat`` repeat an earlier item verbatim under a later heading; the rest name one or
    two gazetteer places. Domains are the ten of ``DOMAINS`` (fewer for tiny reports), items spread
    evenly over them, three to eight items per ``□`` section.

    The parser merges more lines than ``p_repeat``: a line whose text lies inside a longer line is a
    repeat to it (as in the shipped report), which happens to ~4% of lines by chance; 20k lines give
    ~18.6k items, ~20.4k features, ~9.4k of them located (13 of the gazetteer's 31 places have no
    geometry yet, so their items are unlocated, as in the shipped report).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, not {n_items!r}")
    rng = random.Random(seed)
    names = _names_by_kind(gazetteer if gazetteer is not None else load_gazetteer())
    domains = list(DOMAINS)[: max(1, min(len(DOMAINS), (n_items + 3) // 4))]
    per_domain = [n_items // len(domains) + (i < n_items % len(domains)) for i in range(len(domains))]
    lines = [*LEAD, "关键词:主要预期目标", TARGETS]
    emitted: list[str] = []
    for domain, count in zip(domains, per_domain, strict=True):
        lines.append(f"关键词:{domain}")
        sections = DOMAINS[domain]
        left, s = count, 0
        while left > 0:
            lines.append("□" + sections[s % len(sections)])
            s += 1
            for _ in range(min(left, rng.randint(3, 8))):
                r = rng.random()
                if emitted and r < p_repeat:
                    text = rng.choice(emitted)
                elif r < p_repeat + p_no_place:
                    text = _with_clause(rng, rng.choice(NO_PLACE_TEMPLATES).format(**_numbers(rng)))
                elif r < p_repeat + p_no_place + p_unknown:
                    text = _with_clause(
                        rng, rng.choice(UNKNOWN_TEMPLATES).format(u=rng.choice(UNKNOWN_PLACES), **_numbers(rng))
                    )
                else:
                    text = _place_item(rng, names)
                emitted.append(text)
                lines.append("◆" + text)
                left -= 1
    lines[-1] += BYLINE
    return "\n".join(lines) + "\n"


# Located features per ◆ line, measured on generate_report(20000) (seeds 0 and 20250225: 0.473, 0.466);
# reports are sized with it so that a feature set of n is cut from one report, not padded.
LOCATED_PER_ITEM = 0.47


def generate_features(
    n_features: int,
    seed: int = 0,
    *,
    gazetteer: Gazetteer | None = None,
    build: Callable[..., gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """Exactly ``n_features`` located features (the rows a map draws) from one generated report.

    ``build(report, gazetteer=...)`` turns a parsed report into features (default
    ``geoplan.features.features_from_report``).
    """
    from geoplan.features import features_from_report
    from geoplan.parse import report_from_text

    gaz = gazetteer if gazetteer is not None else load_gazetteer()
    build = build or features_from_report
    n_items = max(4, int(n_features / LOCATED_PER_ITEM * 1.1) + 8)
    while True:
        report = report_from_text(generate_report(n_items, seed, gazetteer=gaz), source=f"synthetic-{n_items}.txt")
        gdf = build(report, gazetteer=gaz)
        located = gdf[gdf.geometry.notna()]
        if len(located) >= n_features:
            # Evenly spaced rows, so every domain and section keeps its share (rows are in report order).
            keep = np.unique(np.linspace(0, len(located) - 1, n_features).round().astype(int))
            out = located.iloc[keep].copy()
            out.attrs = dict(gdf.attrs)
            return out
        n_items = int(n_items * 1.3) + 8


# Half-width in degrees a distinct place's shape is scaled to (about 0.5-3 km at Taiyuan's latitude): the
# size of a site, a street or a neighbourhood, not of a district.
DISTINCT_SIZE = (0.004, 0.03)


def distinct_features(
    n_features: int,
    seed: int = 0,
    *,
    gazetteer: Gazetteer | None = None,
    build: Callable[..., gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """``generate_features(n, seed)`` with every row at its own place: no two rows share a geometry.

    Each row keeps its kind of geometry (point, line or polygon, so the seed's proportions) and its
    vertex count (the gazetteer's real shapes: districts of 127-697 vertices, 汾河 267, metro lines
    4-118), scaled to a site's size and moved to its own random position inside Taiyuan's boundary
    (the whole shape inside). Names get a number, so each place is also named apart. Same seed, same set.
    """
    import shapely
    from shapely import affinity

    gaz = gazetteer if gazetteer is not None else load_gazetteer()
    gdf = generate_features(n_features, seed, gazetteer=gaz, build=build)
    boundary = gaz.city.geometry if gaz.city is not None else None
    if boundary is None:
        raise ValueError("the gazetteer has no city boundary to place distinct features in")
    shapely.prepare(boundary)
    rng = np.random.default_rng(seed)
    w, s, e, n = boundary.bounds
    out = []
    for geom in gdf.geometry:
        c = geom.centroid
        size = max(geom.bounds[2] - geom.bounds[0], geom.bounds[3] - geom.bounds[1]) / 2
        while True:
            half = rng.uniform(*DISTINCT_SIZE)
            x, y = rng.uniform(w, e), rng.uniform(s, n)
            f = half / size if size > 0 else 1.0
            g = affinity.translate(affinity.scale(geom, f, f, origin=c), x - c.x, y - c.y)
            if boundary.contains(g):
                break
        out.append(g)
    gdf = gdf.copy()
    gdf["geometry"] = gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs)
    gdf["name"] = [f"{name}{i}" for i, name in enumerate(gdf["name"], 1)]
    return gdf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n_items", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, help="write here (default: stdout)")
    args = ap.parse_args(argv)
    text = generate_report(args.n_items, args.seed)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.output}: {args.n_items} items, {len(text.encode()):,} bytes")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
