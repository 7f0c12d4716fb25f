"""Small, dependency-free HTML building blocks for :mod:`pymc_hier.reports`.

Everything here is deterministic: the same input gives the same bytes (matplotlib SVGs
are written with a fixed hash salt and no date). Text is escaped unless it is
:class:`~pymc_hier.reports.numbers.Markup`. The page is readable from 390 px to 1600 px
wide (wide tables and equations scroll in their own box) and prints cleanly.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable, Sequence

import matplotlib
import matplotlib.pyplot as plt

from pymc_hier.reports.numbers import Markup

__all__ = ["CSS", "TABLE_LIMIT", "Markup", "count_rows", "details", "esc", "figure",
           "folded_table", "kv_table", "page", "section", "strip_xml_header", "svg_of_figure",
           "table"]

CSS = """
:root{--ink:#1d232b;--muted:#5b6470;--rule:#d5d9de;--accent:#1f5fa8;--bad:#b3261e;
--ok:#1b6e2d;--box:#f4f7fb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
margin:0 auto;max-width:70rem;padding:1.2rem 1rem 3rem;color:var(--ink);line-height:1.5;
font-size:16px}
h1{font-size:1.7rem;line-height:1.25;margin:.4rem 0 .2rem}
h2{font-size:1.3rem;margin:2.4rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--rule)}
h3{font-size:1.05rem;margin:1.6rem 0 .4rem}
p{margin:.5rem 0}
.subtitle{color:var(--muted);margin:0 0 .3rem}
.note{color:var(--muted);font-size:.9rem}
a{color:var(--accent)}
nav.toc{margin:1rem 0;padding:.6rem 1rem;border-left:3px solid var(--rule)}
nav.toc ol{margin:.2rem 0;padding-left:1.3rem}
nav.toc li{margin:.1rem 0}
.headline{background:var(--box);border:1px solid #c9d6e6;border-radius:6px;
padding:.4rem 1rem 1rem;margin:1.2rem 0}
.headline h2{margin-top:.8rem;border:none}
.scroll{overflow-x:auto;max-width:100%;margin:.6rem 0}
table{border-collapse:collapse;font-size:.9rem;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;color:var(--muted);font-size:.85rem;
padding:.2rem 0}
th,td{border-bottom:1px solid var(--rule);padding:.25rem .6rem;text-align:right;
vertical-align:middle;white-space:nowrap}
thead th{border-bottom:2px solid #9aa3ad;font-weight:600}
th.l,td.l{text-align:left}
td.wrap,th.wrap{white-space:normal;min-width:12rem}
tbody th{font-weight:normal;text-align:left}
table.eq td{border:none;padding:.35rem .3rem}
table.eq td.rel{text-align:center}
table.eq td.rhs{text-align:left}
table.eq td.what{text-align:left;color:var(--muted);white-space:normal;padding-left:1.2rem;
min-width:10rem}
math{font-size:1.1em}
table.eq math{font-size:1.25em}
math[display="block"]{margin:.4rem 0}
.flag-ok{color:var(--ok);font-weight:600}.flag-bad{color:var(--bad);font-weight:600}
ul.flags{margin:.3rem 0;padding-left:1.3rem}
figure{margin:1.2rem 0}
figure svg{max-width:100%;height:auto;display:block}
figure.narrow svg{max-width:min(100%,44rem)}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.3rem}
details{margin:.6rem 0}
summary{cursor:pointer;color:var(--accent)}
code{font-size:.88em;background:#f1f3f5;padding:0 .2em;border-radius:3px;
overflow-wrap:anywhere}
#timestamp{margin-top:0}
@media (max-width:480px){body{padding:.8rem .6rem 2rem;font-size:15px}
h1{font-size:1.4rem}th,td{padding:.2rem .4rem}.headline{padding:.3rem .6rem .8rem}
table.eq tr{display:block;margin:.2rem 0 .5rem}table.eq td{display:inline-block}
table.eq td.what{display:block;padding:0 0 0 1.6rem;min-width:0}}
@media print{body{max-width:none;padding:0;font-size:10pt}nav.toc{display:none}
.scroll{overflow:visible}a{color:inherit;text-decoration:none}
h2{break-after:avoid}figure,table,.headline{break-inside:avoid}
.headline{background:none}summary{color:inherit}}
"""


def esc(text) -> str:
    """Escape text for HTML (:class:`Markup` passes through)."""
    if isinstance(text, Markup):
        return str(text)
    return html.escape(str(text), quote=True)


def _cell(tag: str, value, align: str | None) -> str:
    cls = f' class="{align}"' if align else ""
    return f"<{tag}{cls}>{esc(value)}</{tag}>"


def table(header: Sequence, rows: Iterable[Sequence], *, align: Sequence[str] | None = None,
          row_headers: bool = True, caption: str | None = None,
          table_class: str | None = None) -> str:
    """Write a table in its own horizontally scrolling box.

    Parameters
    ----------
    header : sequence
        Column titles (text or :class:`Markup`).
    rows : iterable of sequences
        Cells; every row is written (nothing is cut).
    align : sequence of str, optional
        Per column: ``"l"`` (left), ``"r"`` (right, the default for all but the first),
        ``"wrap"`` (left, wrapping text).
    row_headers : bool, default True
        The first cell of each row is a row header (``<th>``).
    caption : str, optional
        A caption above the table.
    table_class : str, optional
        CSS class of the table.
    """
    ncol = len(header)
    align = list(align) if align is not None else ["l"] + ["r"] * (ncol - 1)
    classes = [None if a == "r" else a for a in align]
    head = "".join(_cell("th", h, c) for h, c in zip(header, classes, strict=True))
    body = []
    for row in rows:
        cells = [_cell("th" if (k == 0 and row_headers) else "td", v, c)
                 for k, (v, c) in enumerate(zip(row, classes, strict=True))]
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    cls = f' class="{table_class}"' if table_class else ""
    return (f'<div class="scroll"><table{cls}>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def kv_table(items: Iterable[tuple]) -> str:
    """(key, value) pairs as a two-column table."""
    rows = "".join(f'<tr><th class="l">{esc(k)}</th><td class="l wrap">{esc(v)}</td></tr>'
                   for k, v in items)
    return f'<div class="scroll"><table><tbody>{rows}</tbody></table></div>'


#: Most rows of a folded table; beyond, the first ones, and the summary line says so.
TABLE_LIMIT = 2000


def folded_table(what: str, header: Sequence, rows: Sequence[Sequence], *, note: str = "",
                 **kwargs) -> str:
    """Write a table folded under ``what (n rows)``.

    More than :data:`TABLE_LIMIT` rows are cut, and the summary line says how many of how
    many are shown: never silently.
    """
    n = len(rows)
    summary = f"{what} ({count_rows(n)})"
    if n > TABLE_LIMIT:
        summary = (f"{what} (the first {TABLE_LIMIT} of {n} rows; every value is in the "
                   "DataTree)")
        rows = rows[:TABLE_LIMIT]
    return details(summary, note + table(header, rows, **kwargs))


def count_rows(n: int) -> str:
    """``"1 row"``, ``"8 rows"``."""
    return f"{n} row" if n == 1 else f"{n} rows"


def details(summary: str, body: str) -> str:
    """Write a folded block (``<details>``) with its summary line."""
    return f"<details><summary>{esc(summary)}</summary>\n{body}\n</details>"


def svg_of_figure(fig) -> str:
    """Return a matplotlib figure as inline SVG markup (deterministic) and close it."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "pymc_hier", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight")
    plt.close(fig)
    return strip_xml_header(buf.getvalue())


def strip_xml_header(svg: str) -> str:
    """Drop the XML declaration, DOCTYPE and comments so SVG can be inlined in HTML."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return svg.strip()


def figure(svg: str, caption: str, *, narrow: bool = False, label: str | None = None) -> str:
    """Inline SVG with a caption (``narrow``: at most 44 rem wide)."""
    cls = ' class="narrow"' if narrow else ""
    aria = f' aria-label="{esc(label)}"' if label else ""
    return (f'<figure{cls}{aria}>{svg}<figcaption>{esc(caption)}</figcaption></figure>')


def section(anchor: str, title: str, body: str, *, css_class: str | None = None) -> str:
    """Write a page section with its heading (``anchor``: its id in the contents)."""
    cls = f' class="{css_class}"' if css_class else ""
    return f'<section id="{anchor}"{cls}>\n<h2>{esc(title)}</h2>\n{body}\n</section>'


def page(title: str, body: str, *, timestamp: str, subtitle: str = "",
         contents: Sequence[tuple[str, str]] = ()) -> str:
    """Assemble the whole page; ``timestamp`` is the only line that changes between runs.

    ``contents`` lists ``(anchor, title)`` of the sections for the table of contents.
    """
    toc = ""
    if contents:
        items = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in contents)
        toc = (f'<nav class="toc" aria-label="Contents"><strong>Contents</strong>'
               f"<ol>{items}</ol></nav>\n")
    sub = f'<p class="subtitle">{esc(subtitle)}</p>\n' if subtitle else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{esc(title)}</h1>\n{sub}"
        f'<p class="note" id="timestamp">{esc(timestamp)}</p>\n'
        f"{toc}{body}\n</main>\n</body>\n</html>\n"
    )
