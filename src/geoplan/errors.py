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
    """An online geocoding service failed or is misconfigured (never raised for 'not found').

    ``service`` names the service and ``service_message`` keeps its own words (``INVALID_USER_KEY``,
    ``非法的key`` …) so a planner can tell a bad key from a spent quota. Failures are never cached.
    """

    def __init__(self, message: str, *, service: str = "", service_message: str = "") -> None:
        super().__init__(message)
        self.service = service
        self.service_message = service_message


class GeocoderConfigError(GeocoderError, ValueError):
    """A geocoder is set up wrongly before any request: an unknown service, a missing key or user agent."""


class GeocoderAuthError(GeocoderError, PermissionError):
    """The service refused the key: unknown, wrong platform, IP or domain not allowed, no privilege."""


class GeocoderQuotaError(GeocoderError, ConnectionRefusedError):
    """The service refused because the key's daily quota or request rate is spent; try again later."""


class GeocoderTimeoutError(GeocoderError, TimeoutError):
    """The service did not answer in time."""


class GeocoderUnavailableError(GeocoderError, ConnectionError):
    """The service could not be reached or answered with a server error."""


class GeocoderReplyError(GeocoderError, ValueError):
    """The service answered something that is not the documented reply (not JSON, fields missing)."""


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


class StoredReportError(GeoplanError, LookupError):
    """A report named by its content hash (``?report=<sha1>``) is not a hash, or is not in the data dir."""


class ServeError(GeoplanError, FileNotFoundError):
    """``geoplan serve`` cannot start the web app as asked (its script is not there)."""
