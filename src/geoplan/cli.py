"""The ``geoplan`` command: parse, build, map and export a report from the shell."""

from __future__ import annotations

import atexit
import json
import os
import sys
import tempfile
import threading
from enum import StrEnum
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from geoplan import __version__
from geoplan.errors import GeoplanError

if TYPE_CHECKING:  # imported lazily at run time: `geoplan --help` should not load geopandas
    import geopandas as gpd

    from geoplan.corrections import Correction, CorrectionStore
    from geoplan.gazetteer import Gazetteer
    from geoplan.geocoders.base import Geocoder
    from geoplan.maps import Basemap

app = typer.Typer(
    name="geoplan",
    help="Turn a city's government work report into a map of its projects.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ParseFormat(StrEnum):
    json = "json"
    table = "table"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"geoplan {__version__}")
        raise typer.Exit()


class OutputError(GeoplanError, OSError):
    """Standard output cannot be written (a full disk, a closed pipe)."""


def _out(text: str, *, nl: bool = True) -> None:
    """Print to stdout; a failed write (``> /dev/full``) is one line naming ``<stdout>``, not a traceback."""
    try:
        typer.echo(text, nl=nl)
        sys.stdout.flush()
    except OSError as err:
        raise OutputError(f"<stdout>: cannot write ({err.strerror or err}); the output is incomplete") from err


def _created(folder: Path) -> None:
    """A missing output folder is made, and said so: a typo in a path should not pass unnoticed."""
    typer.echo(f"geoplan: created folder {folder}", err=True)


def _names_folder(raw: str) -> bool:
    """``-o newdir/`` or ``-o existing-folder`` names a folder, not a file.

    The option is read as text because ``Path("newdir/")`` drops the trailing separator, and the write
    would then make a *file* called newdir.
    """
    return raw.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)) or Path(raw).is_dir()


def _target(raw: str, default_name: str) -> Path:
    """The file ``-o RAW`` means: ``default_name`` inside it when RAW names a folder (made if missing)."""
    return Path(raw) / default_name if _names_folder(raw) else Path(raw)


def _write(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` atomically; a failure is one message and leaves ``out`` as it was."""
    from geoplan._io import write_atomic
    from geoplan.errors import ExportError

    try:
        write_atomic(out, text, created=_created)
    except OSError as err:
        msg = f"{out}: cannot write ({err.strerror or err}); nothing was written"
        raise ExportError(msg) from err


def _write_pieces(out: Path, pieces: Iterator[bytes]) -> None:
    """``_write`` for text made piece by piece: each piece written as it comes, none kept, then checked."""
    from geoplan import _io
    from geoplan.errors import ExportError

    try:
        _io.write_atomic(out, lambda tmp: _io.check_size(tmp, _io.write_pieces(tmp, pieces)), created=_created)
    except OSError as err:
        msg = f"{out}: cannot write ({err.strerror or err}); nothing was written"
        raise ExportError(msg) from err


def _refuse_large(path: Path) -> None:
    """Refuse an input file larger than ``settings.max_report_bytes`` before reading it."""
    from geoplan import settings
    from geoplan.parse import too_large

    try:
        size = path.stat().st_size
    except OSError:
        return  # the reader names the problem
    if size > settings.max_report_bytes:
        raise too_large(path, size, settings.max_report_bytes)


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """geoplan: report text -> parse -> link -> geocode -> GeoJSON -> map and exports."""


@app.command("parse")
def parse_cmd(
    report: Annotated[Path, typer.Argument(help="Report text file (UTF-8, UTF-8 with BOM, or GB18030).")],
    fmt: Annotated[ParseFormat, typer.Option("--format", "-f", help="Output format.")] = ParseFormat.json,
    shape: ShapeOption = None,
    city: CityOption = None,
) -> None:
    """Print the parsed report: shape, city, domains, sections and items with ids, occurrences and status."""
    from geoplan import settings
    from geoplan.parse import report_from_path

    rep = report_from_path(report, max_bytes=settings.max_report_bytes, shape=_shape(shape), city=city)
    if fmt is ParseFormat.json:
        _out(json.dumps(rep.to_dict(), ensure_ascii=False, indent=2))
        return
    by_id = {it.id: it for it in rep.items}
    city_line = f"{rep.city.name} ({rep.city.adcode}, by {rep.city.rule})" if rep.city else "unknown"
    _out(f"{rep.title or Path(rep.source).name}: {rep.shape}, city {city_line}")
    for d in rep.dropped:
        _out(f"  dropped L{d.line}: {d.text}  ({d.reason})")
    for dom in rep.domains:
        _out(f"{dom.name}  [{dom.part}]  (line {dom.line})")
        for para in dom.paragraphs:
            _out(f"  {para}")
        for sec in dom.sections:
            _out(f"  □ {sec.title or '(no section)'}")
            for iid in sec.item_ids:
                it = by_id[iid]
                lines = ",".join(str(o.line) for o in it.occurrences)
                _out(f"    {it.id}  [{it.status.label_zh}]  L{lines}  {it.text}")
    _out(f"{len(rep.items)} items in {len(rep.domains)} domains")


class ShapeChoice(StrEnum):
    keyword_summary = "keyword-summary"
    bullet_summary = "bullet-summary"
    full_report = "full-report"
    excerpt = "excerpt"


ShapeOption = Annotated[
    Optional[ShapeChoice],
    typer.Option("--shape", help="Read the report as this shape instead of detecting it."),
]
CityOption = Annotated[
    Optional[str],
    typer.Option("--city", help="Whose report it is (e.g. 北京市), instead of what the report says."),
]


def _shape(shape: ShapeChoice | None) -> str | None:
    return None if shape is None else str(shape.value)


class GeocoderChoice(StrEnum):
    gazetteer = "gazetteer"
    nominatim = "nominatim"
    amap = "amap"


def _geocoders(choice: GeocoderChoice, amap_key: str | None) -> list[Geocoder]:
    """The gazetteer only: online answers reach the map after a planner's review, never straight from a build."""
    if choice is GeocoderChoice.gazetteer:
        return []
    from geoplan.errors import GeocoderConfigError

    msg = (
        f"online answers reach the map only after review: run `geoplan geocode-missing REPORT --geocoder "
        f"{choice}` and accept candidates; they become corrections that every build applies"
    )
    raise GeocoderConfigError(msg, service=str(choice))


DataDirArg = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir",
        help="Folder with planners' corrections.sqlite, applied to the output "
        "(default: $GEOPLAN_DATA_DIR, else ~/.local/share/geoplan).",
    ),
]


def _with_corrections(
    gdf: gpd.GeoDataFrame, data_dir: Path | None, gazetteer: Gazetteer | None = None
) -> gpd.GeoDataFrame:
    """Apply stored corrections; report, never drop in silence, those whose item is gone."""
    from geoplan.corrections import corrected_features

    gdf, left = corrected_features(gdf, data_dir=data_dir, gazetteer=gazetteer)
    for c in left:
        typer.echo(
            f"geoplan: warning: correction {c.id} for item {c.item_id} ({c.place or 'no place'}) "
            "was not applied: the item is not in this report or it has several places",
            err=True,
        )
    return gdf


@app.command("build")
def build_cmd(
    report: Annotated[Path, typer.Argument(help="Report text file.")],
    out: Annotated[
        Optional[str],
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="GeoJSON file to write (default: stdout); in a folder (dir/ or an existing one): REPORT's name.geojson.",
        ),
    ] = None,
    geocoder: Annotated[
        GeocoderChoice, typer.Option(help="Also ask this online service for names the gazetteer lacks.")
    ] = GeocoderChoice.gazetteer,
    amap_key: Annotated[
        Optional[str], typer.Option(envvar="GEOPLAN_AMAP_KEY", help="Your AMap web-service key.")
    ] = None,
    data_dir: DataDirArg = None,
    shape: ShapeOption = None,
    city: CityOption = None,
) -> None:
    """Parse, link and geocode REPORT into an RFC 7946 GeoJSON FeatureCollection."""
    from geoplan.features import features_from_path, geojson_pieces

    target = None if out is None else _target(out, f"{report.stem}.geojson")
    gdf = features_from_path(report, geocoders=_geocoders(geocoder, amap_key), shape=_shape(shape), city=city)
    meta = gdf.attrs.get("report", {})
    gdf = _with_corrections(gdf, data_dir)
    if target is None:  # checked whole before a byte is printed
        _out(b"".join(geojson_pieces(gdf)).decode("utf-8"), nl=False)
    else:  # written as it is made (bounded memory at 100k places), moved into place once checked
        _write_pieces(target, geojson_pieces(gdf))
    counts = gdf["precision"].value_counts().to_dict()
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    where = meta.get("city") or {}
    typer.echo(
        f"{meta.get('shape', 'report')} of {where.get('name', '?')} (by {where.get('rule', '?')}): "
        f"{gdf['item_id'].nunique()} items, {len(gdf)} features ({summary})" + (f" -> {target}" if target else ""),
        err=True,
    )


corrections_app = typer.Typer(
    help="Add, review, undo, export and import planners' location corrections (kept apart from built data).",
    no_args_is_help=True,
)
DataDirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir",
        help="Folder holding corrections.sqlite (default: $GEOPLAN_DATA_DIR, else ~/.local/share/geoplan).",
    ),
]


def _correction_store(data_dir: Path | None, **kwargs: Any) -> CorrectionStore:
    from geoplan.corrections import CorrectionStore

    return CorrectionStore.in_data_dir(data_dir, **kwargs)


def _correction_line(c: Correction) -> str:
    line = "  ".join((str(c.id), c.item_id, c.place or "-", c.geometry_type, c.author or "-", c.created_at, c.note))
    return line + (f"  [undone {c.undone_at}]" if c.undone_at else "")


@corrections_app.command("add")
def corrections_add_cmd(
    item_id: Annotated[str, typer.Argument(help="Id of the item to correct (see `geoplan parse REPORT -f table`).")],
    geometry: Annotated[
        str,
        typer.Option(
            "--geometry",
            "-g",
            help="New geometry, WKT or GeoJSON in WGS84 "
            "lon/lat, e.g. 'POINT (112.55 37.87)'; @FILE reads it from FILE.",
        ),
    ],
    note: Annotated[str, typer.Option("--note", "-n", help="What was wrong and where the fix comes from.")],
    place: Annotated[
        Optional[str], typer.Option(help="The item's place this moves (or adds); omit for an item with a single row.")
    ] = None,
    author: Annotated[str, typer.Option(help="Who made the correction.")] = "",
    no_check: Annotated[bool, typer.Option("--no-check", help="Do not check ITEM_ID against the report.")] = False,
    report: Annotated[
        Optional[Path], typer.Option(help="Report the item ids come from (default: the shipped report).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Store a correction of where ITEM_ID (or one of its places) is; every build applies it."""
    from geoplan import settings
    from geoplan.corrections import apply_corrections, current_geometry

    if geometry.startswith("@"):
        _refuse_large(Path(geometry[1:]))
        try:
            geometry = Path(geometry[1:]).read_text(encoding="utf-8")
        except OSError as err:
            raise GeoplanError(f"{geometry[1:]}: cannot read geometry ({err.strerror})") from err
    store = _correction_store(data_dir)
    previous = None
    if not no_check:
        from geoplan.features import features_from_path
        from geoplan.gazetteer import gazetteer_for

        gdf = features_from_path(report or settings.default_report_path())
        city = gdf.attrs.get("report", {}).get("city") or {}
        # New geometries must lie in the report's own city (or province), not in the shipped one.
        store = _correction_store(data_dir, city_area=gazetteer_for(city.get("adcode")).city_area)
        gdf, _ = apply_corrections(gdf, store.active_for([item_id]))
        previous = current_geometry(gdf, item_id, place)
    c = store.add(item_id, geometry, note=note, author=author, place=place, previous=previous)
    _out(_correction_line(c))


@corrections_app.command("list")
def corrections_list_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Also show undone corrections.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """One correction a line: id  item_id  place  geometry-type  author  created_at  note."""
    store = _correction_store(data_dir)
    for c in store.history() if all_ else store.all():
        _out(_correction_line(c))


@corrections_app.command("undo")
def corrections_undo_cmd(
    correction_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the correction to undo.")],
    data_dir: DataDirOption = None,
) -> None:
    """Undo a correction; its row is kept for review (`list --all`)."""
    c = _correction_store(data_dir).undo(correction_id)
    _out(f"undone: {_correction_line(c)}")


@corrections_app.command("export")
def corrections_export_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoJSON file to write.")],
    data_dir: DataDirOption = None,
) -> None:
    """Write every correction, undone ones included (with undone_at), to an RFC 7946 FeatureCollection."""
    store = _correction_store(data_dir)
    store.export_geojson(out, created=_created)
    rows = store.history()
    undone = sum(1 for c in rows if not c.active)
    typer.echo(f"{len(rows)} corrections ({undone} undone) -> {out}", err=True)


@corrections_app.command("import")
def corrections_import_cmd(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="GeoJSON written by `corrections export`.")],
    report: Annotated[
        Optional[Path], typer.Option(help="Report the item ids must come from (default: the shipped report).")
    ] = None,
    no_check: Annotated[bool, typer.Option("--no-check", help="Do not check item ids against the report.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Add the corrections of FILE, all or nothing (ones already stored are skipped).

    Item ids the report does not have are refused by name, unless --no-check.
    """
    from geoplan import settings

    _refuse_large(path)
    known = None
    if not no_check:
        from geoplan.features import features_from_path

        known = set(features_from_path(report or settings.default_report_path())["item_id"])
    added = _correction_store(data_dir).import_geojson(path, known_items=known)
    for c in added:
        _out(_correction_line(c))
    typer.echo(f"imported {len(added)} corrections from {path}", err=True)


app.add_typer(corrections_app, name="corrections")


# ---- gazetteer: build gazetteer files from OpenStreetMap (geoplan.osm) ----
gazetteer_app = typer.Typer(help="Build gazetteer files from OpenStreetMap data.", no_args_is_help=True)


@gazetteer_app.command("import-osm")
def gazetteer_import_osm_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="overpass-turbo GeoJSON export, .osm or .osm.pbf.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Gazetteer GeoJSON to write (replaced atomically).")],
    city: Annotated[str, typer.Option(help="Clip to this city entry of the gazetteer.")] = "太原市",
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Keep an OSM entry even when a curated entry has "
            "its name or an alias; the curated one is then left out on loading.",
        ),
    ] = False,
    curated: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--curated",
            help="Curated gazetteer files to check names against (default: geoplan's own, "
            "except OUT); repeat for several.",
        ),
    ] = None,
) -> None:
    """Import named roads, lines, stations, bridges, schools, parks and water from OpenStreetMap.

    Prints what was added, merged and skipped (and why). Entries carry "© OpenStreetMap contributors, ODbL".
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from geoplan import settings
    from geoplan.osm import import_osm

    target = out.resolve()
    paths = curated if curated is not None else [p for p in settings.gazetteer_paths() if p.resolve() != target]
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=not sys.stderr.isatty()
    ) as bar:
        task = bar.add_task(f"reading {file.name}", total=None)
        result = import_osm(
            file,
            curated_paths=paths,
            city=city,
            replace=replace,
            progress=lambda n: bar.update(task, description=f"reading {file.name}: {n:,} objects"),
        )
    _write(out, result.to_geojson())
    for line in result.report.lines():
        typer.echo(line, err=True)
    typer.echo(f"{len(result.features)} entries -> {out} (© OpenStreetMap contributors, ODbL)", err=True)


app.add_typer(gazetteer_app, name="gazetteer")


def _status_key(value: str) -> str:
    """Accept a status key (``starting``) or its Chinese label (``启动``)."""
    from geoplan.models import STATUS_LABELS

    return next((str(s) for s, (zh, _) in STATUS_LABELS.items() if value == zh), value)


@app.command("export")
def export_cmd(
    source: Annotated[Path, typer.Argument(help="Report text file, or a GeoJSON from 'geoplan build'.")],
    out: Annotated[
        Optional[str],
        typer.Option(
            "--out",
            "-o",
            metavar="PATH",
            help="File or folder (dir/ or an existing one) to write to; replaced atomically, never left "
            "half-written. Default (and in a folder): a name saying what was filtered, e.g. "
            "taiyuan-2025-民生-小店区.geojson.",
        ),
    ] = None,
    fmt: Annotated[
        Optional[str],
        typer.Option("--format", "-f", help="geojson, gpkg, kml or csv (default: from OUT's suffix, else geojson)."),
    ] = None,
    domain: Annotated[
        Optional[list[str]],
        typer.Option("--domain", help="Keep only this domain (关键词), e.g. 民生; repeat for several."),
    ] = None,
    status: Annotated[
        Optional[list[str]],
        typer.Option(
            "--status",
            help="Keep only this status: a key (starting, under_construction …) or its Chinese "
            "label (启动, 在建 …); repeat for several.",
        ),
    ] = None,
    part: Annotated[
        Optional[list[str]],
        typer.Option(
            "--part",
            help="Keep only this part of the report: review, plan, targets or government; "
            "repeat for several (--part plan: this year's plan only).",
        ),
    ] = None,
    district: Annotated[
        Optional[list[str]],
        typer.Option(
            "--district", help="Keep only places in this district or county, e.g. 小店区; repeat for several."
        ),
    ] = None,
    query: Annotated[
        str,
        typer.Option(
            "--query",
            "-q",
            help="Keep rows whose item text, place name, section or unresolved names contain TEXT (case-insensitive).",
        ),
    ] = "",
    include_unlocated: Annotated[
        bool,
        typer.Option(
            "--include-unlocated",
            help="Also export rows without geometry (city-wide or unlocated items); "
            "GeoPackage puts them in the table 'unlocated'.",
        ),
    ] = False,
    data_dir: DataDirArg = None,
) -> None:
    """Export SOURCE's located features, optionally filtered, as GeoJSON, GeoPackage, KML or CSV.

    Rows without geometry (city-wide or unlocated items) are left out unless --include-unlocated; the
    summary says how many.
    """
    from geoplan.export import SUFFIXES, export_features, resolve_format
    from geoplan.filters import filter_features
    from geoplan.features import features_from_path
    from geoplan.filters import Filters, export_filename
    from geoplan.models import PARTS, Status

    named = out is None or _names_folder(out)
    key = resolve_format(fmt or ("geojson" if named else None), Path(out or "."))  # before any work
    gdf = _with_corrections(features_from_path(source), data_dir)
    domains, districts, parts = domain or [], district or [], part or []
    statuses = [_status_key(s) for s in status or []]
    checks = (
        ("domain", domains, list(dict.fromkeys(gdf["domain"].dropna()))),
        ("status", statuses, [str(s) for s in Status]),
        ("part", parts, list(PARTS)),
        ("district", districts, sorted(set(gdf["district"].dropna()))),
    )
    for label, wanted, valid in checks:
        unknown = [w for w in wanted if w not in valid]
        if unknown:
            typer.echo(
                f"geoplan: warning: no {label} {', '.join(unknown)} in {source}; valid: {', '.join(valid)}", err=True
            )
    chosen = filter_features(gdf, domains=domains, statuses=statuses, districts=districts, parts=parts, query=query)
    if named:
        filters = Filters(
            domains=tuple(domains),
            statuses=tuple(statuses),
            districts=tuple(districts),
            parts=tuple(parts),
            query=query.strip(),
        )
        name = export_filename(source.name, filters, SUFFIXES[key], include_unlocated=include_unlocated)
        target = Path(out or ".") / name
    else:
        target = Path(str(out))
    unlocated = int(chosen.geometry.isna().sum())
    if not include_unlocated:
        chosen = chosen[chosen.geometry.notna().to_numpy()]
    export_features(chosen, target, key, created=_created)
    items = chosen["item_id"].nunique()
    left = "" if include_unlocated else f"; {unlocated} without geometry left out, --include-unlocated adds them"
    kept = f", {unlocated} without geometry" if include_unlocated else ""
    typer.echo(
        f"{len(chosen)} of {len(gdf)} features written ({items} item{'s' * (items != 1)}{kept}{left}) -> {target} [{key}]",
        err=True,
    )


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class BasemapChoice(StrEnum):
    osm = "osm"
    light = "light"
    amap = "amap"


_BASEMAPS: dict[BasemapChoice, Basemap] = {
    BasemapChoice.osm: "osm",
    BasemapChoice.light: "light",
    BasemapChoice.amap: "amap",
}


@app.command("map")
def map_cmd(
    source: Annotated[Path, typer.Argument(help="Report text file or a GeoJSON built by `geoplan build`.")],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", metavar="PATH", help="HTML file to write; in a folder (dir/ or an existing one): map.html."
        ),
    ] = "map.html",
    lang: Annotated[Lang, typer.Option(help="Language of labels and popups.")] = Lang.zh,
    basemap: Annotated[
        BasemapChoice, typer.Option(help="osm, light, or amap (data shifted to GCJ-02).")
    ] = BasemapChoice.osm,
    data_dir: DataDirArg = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Processes that read a large built file and make a large map's layers (0: one per CPU).",
        ),
    ] = 0,
) -> None:
    """Write the map as a standalone HTML page: every script and style inlined, only tiles remote (a map of many
    distinct places also writes its finer zoom bands into ``<page>.data/`` beside it)."""
    from geoplan.features import features_and_gazetteer
    from geoplan.errors import ExportError
    from geoplan.maps import build_map, map_data, save_map
    from geoplan.offline import localize

    jobs = jobs or _cpus()
    gdf, gaz = features_and_gazetteer(source, jobs=jobs)  # the gazetteer has the report's districts
    gdf = _with_corrections(gdf, data_dir, gaz)
    target = _target(out, "map.html")
    # A map of many vertices puts its finer zoom bands and popup data in <page>.data/ beside the page
    # (maps.save_map), by way of a temporary folder that map_data writes each layer's to as it is made:
    # kept as strings they were 450 MB at 100k distinct places (bench/README.md).
    try:
        with tempfile.TemporaryDirectory(prefix="geoplan-map-") as spill:
            data = map_data(gdf, _BASEMAPS[basemap], lod=True, spill=Path(spill), jobs=jobs)
            m = build_map(
                gdf,
                lang="en" if lang is Lang.en else "zh",
                basemap=_BASEMAPS[basemap],
                gazetteer=gaz,
                show_boundaries=True,
                list_unplaced=True,
                search=True,
                data=data,
            )
            localize(m, mode="inline")
            written = save_map(m, target, created=_created)
    except OSError as err:
        msg = f"{target}: cannot write ({err.strerror or err}); the page there was left as it was"
        raise ExportError(msg) from err
    typer.echo(f"{len(gdf)} features, {written:,} bytes -> {target}", err=True)


def _cpus() -> int:
    """CPUs this process may run on (its affinity, where the system has one), at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


# -- publish: a static site for a city's residents ------------------------------------------------


@app.command("publish")
def publish_cmd(
    reports: Annotated[list[Path], typer.Argument(help="Report text files (or GeoJSONs built by `geoplan build`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the site into.")] = Path("site"),
    data_dir: DataDirArg = None,
) -> None:
    """Write a static site (map, filters, data pages, downloads) that any web server can serve.

    Residents open ``index.html``; no Python runs at view time. Every script and style is a local file;
    only the basemap tiles are remote.
    """
    from geoplan.features import features_from_path
    from geoplan.gazetteer import gazetteer_for
    from geoplan.publish import publish_site, site_slugs

    site_slugs(reports)  # two reports named alike are refused before any is built
    built = []
    gaz = None
    for report in reports:
        _refuse_large(report)
        gdf = features_from_path(report)
        city = gdf.attrs.get("report", {}).get("city") or {}
        g = gazetteer_for(city.get("adcode") if isinstance(city, dict) else None)
        gaz = gaz or g
        built.append((report, _with_corrections(gdf, data_dir, g)))
    made = not out.exists()
    done = publish_site(built, out, gazetteer=gaz)
    if made:
        _created(out)
    for r in done:
        typer.echo(f"{r.source}: {r.features} features ({r.located} located) -> {out}/data/{r.slug}.geojson", err=True)
    typer.echo(f"site -> {out}/index.html", err=True)


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so Python's exit-time flush does not print a traceback."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


# -- geocode-missing: online candidates for the names the gazetteer lacks, reviewed one by one --------


class OnlineService(StrEnum):
    amap = "amap"
    tianditu = "tianditu"
    nominatim = "nominatim"


def _pick(name: str, count: int) -> int:
    """Ask which candidate to accept (0 = none) until the answer is one of them; ``typer.Abort`` at EOF."""
    while True:
        choice = int(typer.prompt(f"    accept which for {name}? (0 = none)", default=0, type=int))
        if 0 <= choice <= count:
            return choice
        typer.echo(f"    choose 0 to {count}", err=True)


@app.command("geocode-missing")
def geocode_missing_cmd(
    report: Annotated[Path, typer.Argument(help="Report text file.")],
    geocoder: Annotated[OnlineService, typer.Option(help="Online service to ask.")],
    key: Annotated[
        Optional[str],
        typer.Option(
            help="Your key for the service (default: $GEOPLAN_AMAP_KEY or $GEOPLAN_TIANDITU_KEY; Nominatim needs none)."
        ),
    ] = None,
    data_dir: DataDirArg = None,
    yes_first: Annotated[
        bool, typer.Option("--yes-first", help="Accept the nearest candidate for every name without asking.")
    ] = False,
    list_only: Annotated[bool, typer.Option("--list-only", help="Only list the candidates; store nothing.")] = False,
    author: Annotated[str, typer.Option(help="Who accepts the candidates (kept with each correction).")] = "",
    limit: Annotated[int, typer.Option(min=1, max=50, help="Candidates to ask for per name.")] = 10,
) -> None:
    """Ask an online service about every name the gazetteer lacks; accept one candidate per name.

    Candidates are listed nearest the city centre first, with their kind and distance. An accepted one is
    stored as a correction (its note names the service and when it was asked) that every build applies;
    nothing online reaches the map otherwise. With no answer on stdin (not a terminal, nothing piped) the
    rest is only listed.
    """
    from geoplan.features import features_and_gazetteer
    from geoplan.geocoders.base import city_scope
    from geoplan.geocoders.online import geocoder_for
    from geoplan.review import accept, candidate_label, missing_names, suggestions

    if yes_first and list_only:
        raise typer.BadParameter("choose one of --yes-first and --list-only")
    gdf, gaz = features_and_gazetteer(report)  # the report's own city: candidates are looked for there
    city = city_scope(gaz)
    coder = geocoder_for(str(geocoder), key=key, city=city, data_dir=data_dir, limit=limit)
    gdf = _with_corrections(gdf, data_dir, gaz)
    names = missing_names(gdf)
    centre = f"{city.centre.x:.4f},{city.centre.y:.4f}" if city.centre else "?"
    typer.echo(
        f"{len(names)} names the gazetteer lacks in {report}; asking {geocoder} "
        f"(within {city.name}, distances from its centre {centre})",
        err=True,
    )
    store = None if list_only else _correction_store(data_dir)
    interactive = not (list_only or yes_first)
    accepted = empty = 0
    for n, sug in enumerate(suggestions(names, coder, city=city), start=1):
        m = sug.missing
        typer.echo(
            f"[{n}/{len(names)}] {m.name}  ({len(m.item_ids)} item{'s' * (len(m.item_ids) != 1)}: {m.text[:40]}…)"
        )
        if not sug.candidates:
            empty += 1
            typer.echo("    no candidate in the city")
            continue
        for i, c in enumerate(sug.candidates, start=1):
            typer.echo(f"    {i}. {candidate_label(c)}")
        typer.echo(f"    {sug.candidates[0].licence}, asked {sug.candidates[0].asked_at}")
        choice = 0
        if yes_first:
            choice = 1
        elif interactive:
            try:
                choice = _pick(m.name, len(sug.candidates))
            except typer.Abort:
                interactive = False  # stdin closed: list the rest without asking
                typer.echo("    (no answer on stdin: listing only from here on)", err=True)
        if choice and store is not None:
            saved = accept(store, m, sug.candidates[choice - 1], author=author)
            accepted += 1
            typer.echo(f"    accepted -> correction {', '.join(f'#{c.id}' for c in saved)}")
    typer.echo(
        f"{len(names)} names asked, {accepted} accepted, {empty} without candidates"
        + ("" if store is None else f"; corrections in {store.location}"),
        err=True,
    )


# -- prepare: what the app's first visit to a report needs, kept in the data dir -------------------


@app.command("prepare")
def prepare_cmd(
    report: Annotated[
        Optional[Path], typer.Argument(help="Report text file (default: the shipped report the app opens with).")
    ] = None,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--data-dir",
            help="The app's data folder, where prepared files go and corrections are read "
            "(default: $GEOPLAN_DATA_DIR, else ~/.local/share/geoplan).",
        ),
    ] = None,
    basemap: Annotated[
        Optional[list[BasemapChoice]],
        typer.Option(help="Basemap to prepare the map for; repeat for several (default: osm, the app's first)."),
    ] = None,
) -> None:
    """Prepare REPORT for the app: its gazetteer, its features and its map data (with the stored corrections)
    are kept in the data folder's prepared/, so a server's first visit reads them instead of computing them
    (`make run` does this before starting the app)."""
    import time

    from geoplan import settings
    from geoplan.errors import ReportError
    from geoplan.parse import read_report_bytes
    from geoplan.prepared import prepare_report, prepared_dir

    start = time.perf_counter()
    path = report if report is not None else settings.default_report_path()
    data = read_report_bytes(path, max_bytes=settings.max_report_bytes)
    try:
        chosen = [_BASEMAPS[b] for b in basemap or [BasemapChoice.osm]]
        done = prepare_report(data, path.name, data_dir=data_dir, basemaps=chosen)
    except ReportError as err:  # parsed under the file's name, as the app names an upload: say which file
        raise ReportError(err.reason, source=str(path), line=err.line) from err
    if done.store_error is not None:
        typer.echo(f"geoplan: warning: corrections not applied: {done.store_error}", err=True)
    if done.not_applied:
        typer.echo(f"geoplan: warning: {done.not_applied} corrections not applied (their items are gone)", err=True)
    how = "computed" if done.computed else "already prepared"
    typer.echo(
        f"{path.name}: {done.features} features ({how}), gazetteer of {done.places} places, map data on "
        f"{', '.join(done.basemaps)} with {done.corrections} corrections -> {prepared_dir(data_dir)} "
        f"({time.perf_counter() - start:.1f} s)",
        err=True,
    )


# -- serve: the app, with what its first visit needs computed before the server starts -------------


@app.command("serve", context_settings={"ignore_unknown_options": True})
def serve_cmd(
    streamlit_args: Annotated[
        Optional[list[str]],
        typer.Argument(help="Streamlit's own options, passed on (e.g. --server.port 8502 --server.headless true)."),
    ] = None,
    script: Annotated[
        Optional[Path],
        typer.Option(
            help="The app's script (default: streamlit_app.py here, else the one installed with geoplan).",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--data-dir",
            help="The app's data folder: prepared files, corrections, kept uploads "
            "(default: $GEOPLAN_DATA_DIR, else ~/.local/share/geoplan).",
        ),
    ] = None,
    basemap: Annotated[
        BasemapChoice, typer.Option(help="Basemap whose map data is made ready (links may ask for another).")
    ] = BasemapChoice.osm,
    warm: Annotated[
        bool, typer.Option("--warm/--no-warm", help="Compute the default report before taking visitors.")
    ] = True,
) -> None:
    """Start the web app (`streamlit run SCRIPT`) with the default report already computed in the server's
    process: its features, corrections, map data (read from the data folder's prepared/ when `geoplan prepare`
    or an earlier server made them) and rendered map, and the app's modules, so the first visitor waits only
    for the page (`make run` uses it)."""
    import logging
    import time

    from geoplan import settings
    from geoplan.errors import ServeError

    if script is None:
        here = Path("streamlit_app.py")
        script = here if here.is_file() else Path(__file__).parent / "streamlit_app.py"
    if not script.is_file():
        raise ServeError(f"{script}: no such file (--script: the app's script, streamlit_app.py)")
    if data_dir is not None:
        os.environ["GEOPLAN_DATA_DIR"] = str(data_dir)
    from streamlit.web import bootstrap
    from streamlit.web import cli as streamlit_cli

    # What the checkout's .streamlit/config.toml says, for a script run from any folder: the map's files are
    # served from static/ beside the script, no usage statistics are fetched, uploads stay small. Given first,
    # so the same options given on the command line win.
    defaults = [
        "--server.enableStaticServing=true",
        f"--server.maxUploadSize={max(1, settings.max_upload_bytes // 2**20)}",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",
    ]
    run_args = [str(script), *defaults, *(streamlit_args or [])]
    if warm:
        start = time.perf_counter()
        from geoplan.errors import ReportError

        # Streamlit's config as `streamlit run` will parse it (its own flags), so reading options while warming
        # does not load the defaults first and leave Streamlit saying the server's options changed.
        flags = streamlit_cli.main_run.make_context("streamlit run", list(run_args)).params
        bootstrap.load_config_options({k: v for k, v in flags.items() if k not in ("target", "args")})
        logging.disable(logging.WARNING)  # "missing ScriptRunContext", "No runtime found": true here, and harmless
        try:
            import geoplan.app  # noqa: F401  (the page's modules: the first run imports nothing more)
            from geoplan.app.data import warm as warm_app

            prep = warm_app(_BASEMAPS[basemap])
        except ReportError as err:  # the default report is bad: say which file, start nothing
            raise ReportError(err.reason, source=str(settings.default_report_path()), line=err.line) from err
        finally:
            logging.disable(logging.NOTSET)
        typer.echo(
            f"{settings.default_report_path().name}: {len(prep.gdf)} features, map data on {basemap.value} ready "
            f"({time.perf_counter() - start:.1f} s)",
            err=True,
        )
    streamlit_cli.main.main(args=["run", *run_args], prog_name="streamlit", standalone_mode=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; geoplan's own errors become one line on stderr and exit code 2, never a traceback.

    Usage errors are click's (typer may vend its own copy of click): standalone mode prints them with the
    usage line and exits 2.
    """
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="geoplan", standalone_mode=True)
    except GeoplanError as err:
        if isinstance(err, OutputError):
            _silence_stdout()
        typer.echo(f"geoplan: error: {err}", err=True)
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def script() -> NoReturn:
    """The ``geoplan`` command: ``main()``, then the exit handlers, then out without freeing every object.

    The interpreter's own exit frees every module's objects one by one (pandas, pyarrow, shapely, folium):
    0.1-0.2 s after each command's work was done, a tenth of ``geoplan map`` at 10k distinct places
    (bench/README.md, "jobs"). Files are closed by their writers, the exit handlers run (``atexit``) and the
    standard streams are flushed first; with another thread still alive (``geoplan serve``) the interpreter
    exits as usual, joining it.
    """
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): Python's own exit says 120
            code = code or 120
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    script()
