"""folium imported with its templates compiled when first rendered, not when defined.

folium, its plugins and branca define ~85 jinja2 templates as class attributes, and jinja2 compiles each to
Python when it is created: 0.28 s of CPU on every start of ``geoplan map`` and of the app, for templates of
which a page renders about ten (bench/README.md, "lazyfolium"). While folium is first imported here,
``jinja2.Template(...)`` returns a :class:`LazyTemplate` that holds the source and compiles it, with the same
class and options, the first time anything reads it. Templates made after the import are jinja2's own, and a
rendered page is the same text either way (tests/test_folium_lazy.py).

The code jinja2 compiles them to is kept in a per-user cache folder (``template_cache_dir``: jinja2's
``FileSystemBytecodeCache``, keyed by the template's source and options; jinja2 and Python versions are in
every file's header), so a later process loads it instead of compiling: ~38 templates, 0.2 s of every
``geoplan map``. A cache that cannot be read or written, or a damaged file (each carries a digest of its
bytes), only costs the compile.

Modules of geoplan that use folium or branca import this module first.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache


def template_cache_dir() -> Path:
    """Where compiled templates are kept: platformdirs' user cache dir if installed, else ``$XDG_CACHE_HOME``
    or ``~/.cache``, then ``geoplan/jinja2``."""
    try:
        platformdirs = importlib.import_module("platformdirs")  # not a dependency: used when installed
        return Path(platformdirs.user_cache_dir("geoplan")) / "jinja2"
    except ImportError:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "geoplan" / "jinja2"


_DIGEST = 16  # bytes of blake2b after each cache file's contents


class TemplateCache(jinja2.FileSystemBytecodeCache):
    """jinja2's file cache of compiled templates whose every failure costs only the compile: a folder that
    cannot be made, read or written, a file cut short, damaged (its digest) or from another jinja2 or Python
    (jinja2's own header) is a miss, never an error."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._get_cache_filename(bucket), "rb") as fh:
                data = fh.read()
            body, digest = data[:-_DIGEST], data[-_DIGEST:]
            if len(data) > _DIGEST and hashlib.blake2b(body, digest_size=_DIGEST).digest() == digest:
                bucket.bytecode_from_string(body)
        except Exception:  # noqa: BLE001  (unreadable or damaged: compiled again)
            bucket.reset()
        if not isinstance(bucket.code, types.CodeType):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        name = self._get_cache_filename(bucket)
        tmp = f"{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            body = bucket.bytecode_to_string()
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(body + hashlib.blake2b(body, digest_size=_DIGEST).digest())
            os.replace(tmp, name)  # another process reads the whole file or none of it
        except Exception:  # noqa: BLE001  (not writable: the next process compiles again)
            with suppress(OSError):
                os.remove(tmp)

    def compiled(self, new: Callable[..., jinja2.Template], cls: type[jinja2.Template], args: Any, kwargs: Any) -> Any:
        """``new(cls, *args, **kwargs)`` (``jinja2.Template.__new__``: ``from_string`` in the environment of
        those options) with the code loaded from this cache when it holds it, compiled and stored when not."""
        bound = inspect.signature(new).bind(cls, *args, **kwargs)
        options = {k: v for k, v in bound.arguments.items() if k not in ("cls", "source")}
        source = bound.arguments.get("source")
        key = repr((cls.__module__, cls.__qualname__, sorted(options.items())))
        if not isinstance(source, str) or " at 0x" in key:  # an option named by its address: no key across runs
            return new(cls, *args, **kwargs)
        env = _ENVIRONMENTS.get(key)
        if env is None:  # the environment Template.__new__ picks for these options (jinja2 keeps it: lru_cache)
            env = _ENVIRONMENTS[key] = new(cls, "", **options).environment
        bucket = self.get_bucket(env, f"{key}\n{source}", None, source)
        if bucket.code is not None:
            try:
                return cls.from_code(env, bucket.code, env.make_globals(None), None)
            except Exception:  # noqa: BLE001  (code that loads but does not run: compiled again)
                bucket.reset()
        bucket.code = env.compile(source)
        self.set_bucket(bucket)
        return cls.from_code(env, bucket.code, env.make_globals(None), None)


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}
CACHE = TemplateCache(template_cache_dir())


class LazyTemplate:
    """A jinja2 template compiled on first use; every attribute is the compiled template's."""

    __slots__ = ("_compile", "_template", "_lock")

    def __init__(self, compile_: Callable[[], jinja2.Template]) -> None:
        self._compile: Callable[[], jinja2.Template] | None = compile_
        self._template: jinja2.Template | None = None
        self._lock = threading.Lock()

    def compiled(self) -> jinja2.Template:
        """The template itself (compiled once, whichever thread asks first)."""
        template = self._template
        if template is None:
            with self._lock:
                if self._template is None:
                    assert self._compile is not None
                    self._template = self._compile()
                    self._compile = None
                template = self._template
        return template

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.compiled().render(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiled(), name)


@contextmanager
def lazy_templates() -> Iterator[None]:
    """While active, ``jinja2.Template(source, …)`` (and its subclasses, as folium's) defers compiling."""
    original = jinja2.Template.__dict__["__new__"]
    new = original.__func__ if isinstance(original, staticmethod) else original

    def deferred(cls: type[jinja2.Template], *args: Any, **kwargs: Any) -> Any:
        return LazyTemplate(functools.partial(CACHE.compiled, new, cls, args, kwargs))

    jinja2.Template.__new__ = deferred  # type: ignore[method-assign]
    try:
        yield
    finally:
        jinja2.Template.__new__ = original  # type: ignore[method-assign]


with lazy_templates():
    import branca.element

    if branca.element.ENV.bytecode_cache is None:  # its loader's templates (branca.colormap compiles one at import)
        branca.element.ENV.bytecode_cache = CACHE
    import branca.colormap  # noqa: F401
    import folium  # noqa: F401
    import folium.plugins  # noqa: F401
