"""Find the files geoplan ships beside its code, in a checkout and in an installed wheel alike.

- ``static/``: the map's own script and style sheet (``geoplan.js``, ``geoplan.css``) and the vendored
  Leaflet files. They live in the ``geoplan`` package, so ``importlib.resources`` finds them anywhere.
- ``geodata/``: the gazetteer, boundaries and reports. Planners edit them at the top of the checkout;
  the wheel carries the same folder as ``geoplan/_geodata`` (``[tool.setuptools.package-dir]`` in
  pyproject.toml), so ``pip install .`` followed by ``geoplan build`` works from any folder.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

__all__ = ["CHECKOUT_GEODATA", "packaged_geodata_dir", "static_dir", "static_text"]

_CHECKOUT = Path(__file__).resolve().parents[2]
# geodata/ beside src/ when geoplan runs from a checkout (editable install, PYTHONPATH=src).
CHECKOUT_GEODATA: Path | None = (
    _CHECKOUT / "geodata" if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "geodata").is_dir() else None
)


def _package_dir(*parts: str) -> Path:
    """A folder inside the installed ``geoplan`` package, as a path (wheels install unpacked)."""
    return Path(str(files("geoplan").joinpath(*parts)))


def static_dir() -> Path:
    """``geoplan/static``: what the app serves under ``/app/static`` (the ``static`` symlink)."""
    return _package_dir("static")


@functools.cache
def static_text(name: str) -> str:
    """The text of ``static/<name>`` (read once per process: it only changes with the package)."""
    return files("geoplan").joinpath("static", name).read_text(encoding="utf-8")


def packaged_geodata_dir() -> Path:
    """The geodata of this installation: the checkout's ``geodata/`` or the wheel's ``geoplan/_geodata``."""
    return CHECKOUT_GEODATA if CHECKOUT_GEODATA is not None else _package_dir("_geodata")
