"""The ``geoplan`` command: parse, build, map and export a report from the shell."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from geoplan import __version__
from geoplan.errors import GeoplanError

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
) -> None:
    """Print the parsed report: domains, sections and items with ids, occurrences, quantities and status."""
    from geoplan.parse import report_from_path

    rep = report_from_path(report)
    if fmt is ParseFormat.json:
        typer.echo(json.dumps(rep.to_dict(), ensure_ascii=False, indent=2))
        return
    by_id = {it.id: it for it in rep.items}
    for dom in rep.domains:
        typer.echo(f"关键词:{dom.name}  (line {dom.line})")
        for para in dom.paragraphs:
            typer.echo(f"  {para}")
        for sec in dom.sections:
            typer.echo(f"  □ {sec.title or '(no section)'}")
            for iid in sec.item_ids:
                it = by_id[iid]
                lines = ",".join(str(o.line) for o in it.occurrences)
                typer.echo(f"    {it.id}  [{it.status.label_zh}]  L{lines}  {it.text}")
    typer.echo(f"{len(rep.items)} items in {len(rep.domains)} domains")


class GeocoderChoice(StrEnum):
    gazetteer = "gazetteer"
    nominatim = "nominatim"
    amap = "amap"


def _geocoders(choice: GeocoderChoice, amap_key: str | None) -> list:
    """The online backend, only when asked for: the gazetteer is always first."""
    if choice is GeocoderChoice.gazetteer:
        return []
    from geoplan.geocoders.online import OnlineGeocoder

    return [OnlineGeocoder(str(choice), api_key=amap_key)]


@app.command("build")
def build_cmd(
    report: Annotated[Path, typer.Argument(help="Report text file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="GeoJSON file to write (default: stdout).")] = None,
    geocoder: Annotated[GeocoderChoice, typer.Option(help="Also ask this online service for names the gazetteer lacks.")] = GeocoderChoice.gazetteer,
    amap_key: Annotated[Optional[str], typer.Option(envvar="GEOPLAN_AMAP_KEY", help="Your AMap web-service key.")] = None,
) -> None:
    """Parse, link and geocode REPORT into an RFC 7946 GeoJSON FeatureCollection."""
    from geoplan._io import write_atomic
    from geoplan.features import dumps_geojson, features_from_path, features_to_geojson, validate_geojson

    gdf = features_from_path(report, geocoders=_geocoders(geocoder, amap_key))
    text = dumps_geojson(validate_geojson(features_to_geojson(gdf)))
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)
    counts = gdf["precision"].value_counts().to_dict()
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    typer.echo(f"{gdf['item_id'].nunique()} items, {len(gdf)} features ({summary})"
               + (f" -> {out}" if out else ""), err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; geoplan's own errors become one line on stderr and exit code 2, never a traceback."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="geoplan", standalone_mode=False)
    except GeoplanError as err:
        typer.echo(f"geoplan: error: {err}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        typer.echo("geoplan: aborted", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
