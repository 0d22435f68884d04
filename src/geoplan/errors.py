"""One error tree for geoplan: catch ``GeoplanError`` to catch everything the package raises on purpose."""

from __future__ import annotations


class GeoplanError(Exception):
    """Base of every error geoplan raises on purpose (the CLI prints these without a traceback)."""


class ReportError(GeoplanError, ValueError):
    """A report cannot be read or parsed; the message names the file and the line."""

    def __init__(self, message: str, *, source: str = "<text>", line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.reason = message


class GazetteerError(GeoplanError, ValueError):
    """A gazetteer file holds an entry that cannot be used (bad geometry, missing source …)."""


class OsmError(GazetteerError):
    """An OpenStreetMap file cannot be read or imported into the gazetteer; the message names the file."""


class GeometryError(GeoplanError, ValueError):
    """A geometry is malformed, invalid or outside the city; nothing is written."""


class GeocoderError(GeoplanError, RuntimeError):
    """An online geocoding service failed or is misconfigured (never raised for 'not found')."""


class ValidationError(GeoplanError, ValueError):
    """Output does not satisfy RFC 7946 or geoplan's own feature schema."""


class CorrectionError(GeoplanError, ValueError):
    """A correction cannot be stored, found or applied."""


class CorrectionStoreError(CorrectionError):
    """The corrections store itself is unusable (not a database, damaged rows, no folder, locked).

    Its message names the store's path: fine for a planner's shell, never shown to an app visitor.
    """


class ExportError(GeoplanError, ValueError):
    """An export format or target is not supported."""


class OfflineAssetError(GeoplanError, LookupError):
    """A map needs a script/style/font that geoplan has not vendored, or the vendor folder is damaged."""
