"""folium imported with its templates compiled when first rendered, not when defined.

folium, its plugins and branca define ~85 jinja2 templates as class attributes, and jinja2 compiles each to
Python when it is created: 0.28 s of CPU on every start of ``geoplan map`` and of the app, for templates of
which a page renders about ten (bench/README.md, "lazyfolium"). While folium is first imported here,
``jinja2.Template(...)`` returns a :class:`LazyTemplate` that holds the source and compiles it, with the same
class and options, the first time anything reads it. Templates made after the import are jinja2's own, and a
rendered page is the same text either way (tests/test_folium_lazy.py).

Modules of geoplan that use folium or branca import this module first.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jinja2


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
        return LazyTemplate(functools.partial(new, cls, *args, **kwargs))

    jinja2.Template.__new__ = deferred  # type: ignore[method-assign]
    try:
        yield
    finally:
        jinja2.Template.__new__ = original  # type: ignore[method-assign]


with lazy_templates():
    import branca.colormap  # noqa: F401
    import branca.element  # noqa: F401
    import folium  # noqa: F401
    import folium.plugins  # noqa: F401
