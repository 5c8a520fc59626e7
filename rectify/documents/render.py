"""A document's snapshot to PDF with Typst (the `typst` Python binding): A4, PDF/A-2b, every
glyph of the Noto CJK fonts named in config/documents.toml embedded; no system font, no
package, nothing fetched. The same snapshot renders to the same bytes with the same Typst and
fonts (the creation time is the issuing time)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import typst

from rectify.documents.config import DocumentsConfig

__all__ = ["RenderError", "Renderer", "missing_fonts"]


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
                    timestamp=at,
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
