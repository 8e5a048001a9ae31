"""Rendering primitives of every report: Markdown and HTML tables, self-contained pages, matplotlib.

Shared by the run/comparison report (``evals.report``) and the sweep report (``evals.sweep_report``),
so neither imports the other.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any


class ReportError(ValueError):
    """A run folder cannot be reported on; the message names it."""


def pyplot():
    import warnings

    import matplotlib

    warnings.filterwarnings("ignore", message="Tight layout not applied")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.fill(part, width) for part in text.split("\n"))


def legend_outside(ax: Any) -> None:
    """The legend right of the axes (never over the data); long labels wrap rather than shrink."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [wrap(lb, 48) for lb in labels], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def md_table(head: list[str], rows: list[list[str]]) -> str:
    def esc(x: str) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:13px}
img{max-width:100%}h1{font-size:1.5em}.note{color:#555;font-size:13px}
.banner{border:1px solid #9bc;background:#eef6fb;padding:8px 12px}.banner.warn{border-color:#d33;background:#fdecea}
details{margin:.3em 0}summary{cursor:pointer}
"""


def html_table(head: list[str], rows: list[list[str]], raw_first: bool = False) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = [c if (raw_first and i == 0) else html.escape(str(c)) for i, c in enumerate(r)]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, body: list[str]) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
