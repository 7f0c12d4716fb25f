"""Unicode notation for PGM labels: Greek symbols, subscripts, index letters, numbers.

Everything here is plain string work, independent of PyMC, so the lecture style can be
tested on names alone. Subscripts use the Unicode subscript characters (``t₀``, ``θⱼ``,
``N₀,ₘₐₓ``) rather than Graphviz HTML ``<SUB>``, which the pip renderer does not lay out.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "DEFAULT_SYMBOLS",
    "GREEK",
    "format_number",
    "format_value",
    "index_letters",
    "parse_number",
    "text_width",
    "subscript",
    "symbol",
]

#: Variable-name words written as Greek letters (``"lam"`` is PyMC's spelling of lambda).
GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "lam": "λ",
    "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}

#: Symbols for pymc_hier's own data names, in the lecture's notation (``N0 ~ U(0, N0,max)``,
#: ``t0 ~ U(t0,min, t0,max)``, measured at ``t1``). ``export_pgm(symbols=...)`` overrides.
DEFAULT_SYMBOLS = {
    "n0_max": "N₀,ₘₐₓ",
    "N0_max": "N₀,ₘₐₓ",
    "day_start": "t₀,ₘᵢₙ",
    "day_end": "t₀,ₘₐₓ",
    "t_measured": "t₁",
    "n_measured": "N̂₁",
}

_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvxβγρφχ",
                "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_FROM_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POWER = re.compile(r"^(?:(-?[\d.]+)×)?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$")

# Suffix words drawn as an accent over the symbol (combining characters).
_ACCENTS = {"tilde": "\u0303", "hat": "\u0302", "bar": "\u0304"}

# Index letters for well-known dim names (the lecture's i for widgets, BDA's j for groups).
_KNOWN_INDEX = {
    "widget": "i", "widgets": "i", "obs": "n", "observation": "n", "observations": "n",
    "school": "j", "schools": "j", "group": "j", "groups": "j", "study": "j",
    "studies": "j", "time": "t", "draw": "s", "sample": "s",
}
# Fallback order: letters that read as indices and have a subscript form.
_INDEX_POOL = "ijklmnprstuvaeho"

_HEAD = re.compile(r"^([A-Za-z]+?)(\d+)$")


def subscript(text: str) -> str | None:
    """Return ``text`` in Unicode subscript characters, or None if one has no such form."""
    out = [_SUB.get(ch) for ch in text]
    return None if None in out else "".join(out)


def symbol(name: str, *, indices: Iterable[str] = (), symbols: Mapping[str, str] | None = None
           ) -> str:
    """Return the display symbol of the variable ``name``, with index subscripts.

    ``alpha`` → ``α``, ``t0`` → ``t₀``, ``N0_max`` → ``N₀,ₘₐₓ``, ``theta_tilde`` → ``θ̃``;
    with ``indices=("j",)``: ``theta`` → ``θⱼ``. Name parts with no subscript form stay
    as written (``theta_new`` → ``θ_new``). ``symbols`` maps names to symbols that replace
    this rule (index subscripts are still appended).
    """
    table = {**DEFAULT_SYMBOLS, **(symbols or {})}
    index_subs = [subscript(i) or i for i in indices]
    if name in table:
        base, subs, plain = table[name], [], ""
        if index_subs and base[-1:] in _SUB.values():
            return f"{base},{','.join(index_subs)}"
    else:
        base, subs, plain = _split(name)
    return base + plain + ",".join(subs + index_subs)


def _split(name: str) -> tuple[str, list[str], str]:
    """Split ``name`` into a base symbol, its subscripts and a plain-text tail."""
    head, *rest = name.split("_")
    if not head or not all(rest):  # leading, doubled or trailing underscores: as written
        return name, [], ""
    subs: list[str] = []
    if head in GREEK:
        base = GREEK[head]
    elif (m := _HEAD.match(head)) is not None:
        base = GREEK.get(m.group(1), m.group(1))
        subs.append(subscript(m.group(2)))
    else:
        base = head
    plain = ""
    for part in rest:
        if part in _ACCENTS and len(base) == 1:
            base += _ACCENTS[part]  # theta_tilde, theta_new_tilde: the accent on θ
        elif plain:
            plain += "_" + part
        elif (sub := subscript(part)) is not None:
            subs.append(sub)
        else:
            plain = "_" + part
    return base, subs, plain


def index_letters(dims: Iterable[str]) -> dict[str, str]:
    """Assign a distinct index letter to each dim name, deterministically.

    Well-known names get their conventional letter (``widget`` → ``i``, ``school`` → ``j``),
    others their first letter when it is free and has a subscript form, the rest the first
    free letter of ``i, j, k, l, m, n, ...``.
    """
    dims = list(dict.fromkeys(dims))
    letters: dict[str, str] = {}
    taken: set[str] = set()
    for dim in dims:  # conventional letters first, in order
        letter = _KNOWN_INDEX.get(dim)
        if letter and letter not in taken:
            letters[dim] = letter
            taken.add(letter)
    for dim in dims:
        if dim in letters:
            continue
        first = dim[:1].lower()
        if first in _INDEX_POOL and first not in taken:
            letter = first
        else:
            letter = next((c for c in _INDEX_POOL if c not in taken), f"i{len(taken)}")
        letters[dim] = letter
        taken.add(letter)
    return letters


def format_number(x: float) -> str:
    """Format a number compactly: ``5.0`` → ``5``, ``0.125``, ``1.5e-07`` → ``1.5×10⁻⁷``."""
    x = float(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e6:
        return str(int(x))
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    text = f"{x:.3g}"
    if "e" in text:  # 1.5e-07 -> 1.5×10⁻⁷
        mantissa, exponent = text.split("e")
        power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
        return power if mantissa == "1" else f"{mantissa}×{power}"
    return text


def parse_number(text: str) -> float | None:
    """Read back a number written by :func:`format_number`; None if ``text`` is not one."""
    if text in ("∞", "-∞"):
        return math.copysign(math.inf, -1.0 if text.startswith("-") else 1.0)
    if (m := _POWER.match(text)) is not None:
        mantissa = float(m.group(1)) if m.group(1) else 1.0
        return mantissa * 10.0 ** int(m.group(2).translate(_FROM_SUPERSCRIPT))
    try:
        return float(text)
    except ValueError:
        return None


def format_value(value) -> str:
    """Format a parameter value: a number, a constant array as its value, else ``…``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iufb" or arr.size == 0:
        return "…"
    flat = arr.ravel()
    if np.all(flat == flat[0]):
        return format_number(flat[0])
    return "…"


# Approximate advance widths (in em) of a Times-like serif font, for sizing circles the
# same way on every renderer: graphviz-pure measures each byte of a non-ASCII character as
# a space, which makes circles around Unicode labels far too big.
_NARROW = frozenset("ijlt.,;:()[]'!|/ ")
_WIDE = frozenset("mwMW")
_SUB_CHARS = frozenset(_SUB.values())


def text_width(text: str, size: float) -> float:
    """Approximate width in points of ``text`` set in a Times-like font at ``size`` points."""
    em = 0.0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        if ch in _SUB_CHARS:
            em += 0.36
        elif ch in _NARROW:
            em += 0.3
        elif ch in _WIDE:
            em += 0.8
        elif ch.isascii() and (ch.isupper() or ch in "~=+<>"):
            em += 0.68
        elif ch.isascii():
            em += 0.5
        elif ch == "…":
            em += 1.0
        else:  # Greek letters, symbols
            em += 0.55
    return em * size
