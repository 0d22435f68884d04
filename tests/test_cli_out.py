"""``-o`` naming a folder: ``dir/`` (made if missing) or an existing folder gets the default file name inside.

pathlib drops a trailing separator (``Path("newdir/") == Path("newdir")``), so before this a command wrote
a *file* called newdir.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from geoplan.cli import main
from geoplan.errors import ExportError

SMALL = Path(__file__).resolve().parent / "data" / "small.txt"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """small.txt built once, as the source of the export and map commands."""
    out = tmp_path_factory.mktemp("built") / "small.geojson"
    assert main(["build", str(SMALL), "-o", str(out)]) == 0
    return out


def _features(path: Path) -> int:
    return len(json.loads(path.read_text("utf-8"))["features"])


def test_build_into_a_new_folder_writes_the_report_name_inside(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "newdir"
    assert main(["build", str(SMALL), "-o", f"{target}{os.sep}"]) == 0
    assert target.is_dir()
    assert _features(target / "small.geojson") > 0
    err = capsys.readouterr().err
    assert f"created folder {target}" in err and f"-> {target / 'small.geojson'}" in err


def test_build_into_an_existing_folder_without_a_separator(tmp_path: Path):
    assert main(["build", str(SMALL), "-o", str(tmp_path)]) == 0
    assert _features(tmp_path / "small.geojson") > 0


def test_build_to_a_file_is_unchanged(tmp_path: Path):
    out = tmp_path / "deeper" / "x.geojson"  # a missing parent is made, the name kept
    assert main(["build", str(SMALL), "-o", str(out)]) == 0
    assert out.is_file()


def test_export_into_a_new_folder_gets_the_filtered_name(built: Path, tmp_path: Path):
    target = tmp_path / "exports"
    assert main(["export", str(built), "--include-unlocated", "-o", f"{target}/"]) == 0
    (written,) = target.iterdir()
    assert written.suffix == ".geojson" and _features(written) > 0


def test_export_into_a_new_folder_in_another_format(built: Path, tmp_path: Path):
    target = tmp_path / "exports"
    assert main(["export", str(built), "-f", "csv", "-o", f"{target}/"]) == 0
    (written,) = target.iterdir()
    assert written.suffix == ".csv" and written.stat().st_size > 0


def test_map_into_a_new_folder_writes_map_html(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "site"
    assert main(["map", str(built), "-o", f"{target}/"]) == 0
    assert (target / "map.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert f"-> {target / 'map.html'}" in capsys.readouterr().err


def test_map_into_an_existing_folder(built: Path, tmp_path: Path):
    assert main(["map", str(built), "-o", str(tmp_path)]) == 0
    assert (tmp_path / "map.html").is_file()


def test_export_features_refuses_a_folder_by_name(built: Path, tmp_path: Path):
    from geoplan.export import export_features
    from geoplan.features import features_from_path

    with pytest.raises(ExportError, match=r"is a folder; name the geojson file"):
        export_features(features_from_path(built), tmp_path, "geojson")
    assert list(tmp_path.iterdir()) == []
