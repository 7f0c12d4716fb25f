"""Small, dependency-free HTML building blocks for :mod:`pymc_hier.reports.build`.

Everything here is deterministic: the same input gives the same bytes (matplotlib SVGs
are written with a fixed hash salt and no date).
"""

from __future__ import annotations

import html
import io
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;padding-bottom:.3rem}
h2{margin-top:2.2rem;border-bottom:1px solid #bbb;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}
pre{background:#f6f6f6;padding:.7rem;overflow-x:auto}
.flag-ok{color:#116611;font-weight:bold}.flag-bad{color:#b00;font-weight:bold}
.figure{margin:1rem 0}.figure svg{max-width:100%;height:auto}
.note{color:#555;font-size:.9rem}
"""


def esc(text) -> str:
    """Escape text for HTML."""
    return html.escape(str(text), quote=True)


def fmt_number(value) -> str:
    """Format a number compactly and deterministically."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if np.isnan(v):
        return "nan"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        return f"{v:.4g}"
    return f"{v:.4e}"


def table(df: pd.DataFrame, *, index: bool = True, max_rows: int = 200) -> str:
    """Render a DataFrame as a plain HTML table (numbers formatted, long tables cut)."""
    note = ""
    if len(df) > max_rows:
        note = f'<p class="note">Showing the first {max_rows} of {len(df)} rows.</p>'
        df = df.iloc[:max_rows]
    head = "".join(
        ([f'<th class="l">{esc(df.index.name or "")}</th>'] if index else [])
        + [f"<th>{esc(c)}</th>" for c in df.columns]
    )
    rows = []
    for idx, row in df.iterrows():
        cells = [f'<th class="l">{esc(idx)}</th>'] if index else []
        for v in row:
            if isinstance(v, str):
                cells.append(f'<td class="l">{esc(v)}</td>')
            else:
                cells.append(f"<td>{esc(fmt_number(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"


def kv_table(items) -> str:
    """Render (key, value) pairs as a two-column table."""
    rows = "".join(
        f'<tr><th class="l">{esc(k)}</th><td class="l">{esc(v)}</td></tr>' for k, v in items
    )
    return f"<table><tbody>{rows}</tbody></table>"


def svg_of_figure(fig) -> str:
    """Return a matplotlib figure as inline SVG markup (deterministic) and close it."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "pymc_hier", "svg.fonttype": "path"}):
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


def figure(svg: str, caption: str) -> str:
    """Wrap inline SVG with a caption."""
    return f'<div class="figure">{svg}<p class="note">{esc(caption)}</p></div>'


def page(title: str, body: str, *, timestamp: str) -> str:
    """Assemble the whole page; ``timestamp`` is the only line that changes between runs."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p class="note" id="timestamp">Generated: {esc(timestamp)}</p>\n'
        f"{body}\n</body>\n</html>\n"
    )
