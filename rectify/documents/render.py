"""A document's snapshot to PDF with Typst (the `typst` Python binding): A4, PDF/A-2b, every
glyph of the Noto CJK fonts named in config/documents.toml embedded; no system font, no
package, nothing fetched. The same snapshot renders to the same bytes with the same Typst and
fonts (the creation time is the issuing time)."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import Any

import typst

from rectify.documents.config import DocumentsConfig

__all__ = ["RenderError", "RenderProcess", "Renderer", "missing_fonts"]


class RenderError(Exception):
    """A document could not be rendered (a missing font, a broken template)."""


def missing_fonts(config: DocumentsConfig) -> list[str]:
    """The configured font families that the configured folders do not hold."""
    r = config.render
    dirs = [str(d) for d in r.font_dirs if Path(d).is_dir()]
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=dirs)
    have = set(fonts.families())
    return [f for f in dict.fromkeys((r.body_font, r.heading_font)) if f not in have]


class Renderer:
    """One Typst compiler per process (it keeps the fonts loaded); renders one at a time."""

    def __init__(self, config: DocumentsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._compiler: typst.Compiler | None = None
        r = config.render
        self._fonts = json.dumps({"body": r.body_font, "heading": r.heading_font})

    def _ready(self) -> typst.Compiler:
        if self._compiler is None:
            missing = missing_fonts(self.config)
            if missing:
                dirs = ", ".join(str(d) for d in self.config.render.font_dirs)
                raise RenderError(
                    f"fonts {missing} are not in {dirs}: install Debian's fonts-noto-cjk "
                    "(`make run` does) or set [render] in config/documents.toml"
                )
            self._compiler = typst.Compiler(
                root=str(self.config.render.templates),
                font_paths=[str(d) for d in self.config.render.font_dirs],
                ignore_system_fonts=True,
            )
        return self._compiler

    def render(self, *, template: str, snapshot: dict[str, Any], at: datetime) -> bytes:
        """The PDF of one document; RenderError on any warning (an unknown font would print
        empty boxes) or error."""
        path = self.config.render.templates / template
        inputs = {"data": json.dumps(snapshot, ensure_ascii=False), "fonts": self._fonts}
        with self._lock:
            compiler = self._ready()
            try:
                pdf, warnings = compiler.compile_with_warnings(
                    input=str(path),
                    format="pdf",
                    sys_inputs=inputs,
                    pdf_standards=["a-2b"],
                    timestamp=at.replace(microsecond=0),  # Typst takes whole seconds
                )
            except (RuntimeError, ValueError) as exc:  # typst.TypstError is a RuntimeError
                raise RenderError(f"{template}: {_message(exc)}") from None
        if warnings:
            raise RenderError(f"{template}: " + "; ".join(_message(w) for w in warnings))
        if not isinstance(pdf, bytes):
            raise RenderError(f"{template}: Typst returned no PDF")
        return pdf


def _message(problem: Any) -> str:
    return str(getattr(problem, "message", None) or problem)


# -- rendering in a child process ----------------------------------------------------------------
# Typst's binding holds the GIL while it works (about 10 ms a page, 250 ms to read the fonts the
# first time): in the service's own process that would stall every request for as long. The
# service renders in one child process instead; the child keeps its compiler warm.
_IN_CHILD: dict[str, Renderer] = {}


def _child_renderer(config_json: str) -> Renderer:
    renderer = _IN_CHILD.get(config_json)
    if renderer is None:
        config = DocumentsConfig.model_validate_json(config_json)
        renderer = _IN_CHILD[config_json] = Renderer(config)
    return renderer


def _render_in_child(config_json: str, template: str, snapshot: str, at: str) -> bytes:
    return _child_renderer(config_json).render(
        template=template, snapshot=json.loads(snapshot), at=datetime.fromisoformat(at)
    )


def _watch_parent(parent: int) -> None:
    """In the child: end when the service process is gone (killed: no shutdown to tell us)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="rectify-render-parent", daemon=True).start()


class RenderProcess:
    """A Renderer in a child process (started on first use, restarted if it dies)."""

    TIMEOUT = 120.0  # seconds for one document, the first (reading the fonts) included

    def __init__(self, config: DocumentsConfig) -> None:
        self._json = config.model_dump_json()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _submit(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_watch_parent,
                    initargs=(os.getpid(),),
                )
            pool = self._pool
        try:
            return pool.submit(fn, self._json, *args).result(timeout=self.TIMEOUT)
        except (BrokenProcessPool, TimeoutError) as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise RenderError(f"the rendering process failed: {exc!r}") from None

    def render(self, *, template: str, snapshot: dict[str, Any], at: datetime) -> bytes:
        """As Renderer.render, in the child process."""
        data = json.dumps(snapshot, ensure_ascii=False)
        return self._submit(_render_in_child, template, data, at.isoformat())

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
