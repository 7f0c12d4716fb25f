"""Draw the PGM figures of the docs into ``docs/_static/`` (run by hand, then commit them).

They are drawn by the pip-only route (graphviz-pure's layout, matplotlib's typesetting),
whose output is the same on every platform::

    .venv/bin/python docs/pgm_figures.py            # every figure
    .venv/bin/python docs/pgm_figures.py pgm_decay  # some
"""

from pathlib import Path

import pymc_hier as ph

STATIC = Path(__file__).resolve().parent / "_static"


def _line():
    data = ph.simulate_line(n_points=20)
    return ph.straight_line_model(data.x, data.y, data.sigma_y)


# name -> (model, view)
FIGURES = {
    "pgm_decay": (lambda: ph.decay_model(ph.simulate_decay()), "generative"),
    "pgm_decay_sampler": (lambda: ph.decay_model(ph.simulate_decay()), "sampler"),
    "pgm_decay_latent_sampler": (lambda: ph.decay_model(ph.simulate_decay(), n0="latent"),
                                 "sampler"),
    "pgm_eight_schools": (ph.eight_schools_model, "generative"),
    "pgm_eight_schools_sampler": (ph.eight_schools_model, "sampler"),
    "pgm_straight_line": (_line, "generative"),
}


def main(names=None):
    """Write ``docs/_static/{name}.png`` (with its ``.dot``) for each figure."""
    for name, (build, view) in FIGURES.items():
        if names and name not in names:
            continue
        paths = ph.export_pgm(build(), STATIC / name, view=view, formats=["png"],
                              renderer="matplotlib", dpi=150)
        print(*paths.values())


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
