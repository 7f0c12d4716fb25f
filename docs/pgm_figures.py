"""Draw the PGM figures of the docs into ``docs/_static/`` (run by hand, then commit them).

They are rendered with graphviz-pure, whose output is the same on every platform::

    .venv/bin/python docs/pgm_figures.py
"""

from pathlib import Path

import pymc_hier as ph

STATIC = Path(__file__).resolve().parent / "_static"

FIGURES = {
    "pgm_decay": lambda: ph.decay_model(ph.simulate_decay(), t0="latent", n0="marginal"),
    "pgm_eight_schools": lambda: ph.eight_schools_model(),
    "pgm_eight_schools_centered": lambda: ph.eight_schools_model(parametrization="centered"),
}


def main(names=None):
    """Write ``docs/_static/{name}.png`` (and its ``.dot``) for each figure."""
    for name, build in FIGURES.items():
        if names and name not in names:
            continue
        paths = ph.export_pgm(build(), STATIC / name, formats=["png"],
                              renderer="graphviz-pure", dpi=150)
        print(*paths.values())


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
