"""nutpie compile cache: the same draws as nutpie's own compile, in this process and the next."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pymc as pm
import pytest

from pymc_hier.nutpie_cache import compile_nutpie, sample_nutpie

SEED = 20261202
ROOT = Path(__file__).resolve().parent.parent


def _model():
    """A small hand-built model with shared data (pm.Data) and a bounded variable."""
    with pm.Model(coords={"obs": list("abcdef")}) as model:
        x = pm.Data("x", np.linspace(-1.0, 1.0, 6), dims="obs")
        mu = pm.Normal("mu", 0.0, 5.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        pm.Normal("y", mu + 0.5 * x, sigma, observed=[0.1, -0.4, 0.9, 1.3, 0.2, 0.7],
                  dims="obs")
    return model


def _draws(idata):
    post = idata["posterior"]
    return np.concatenate([post[v].values.ravel() for v in sorted(post.data_vars)])


def test_cached_compile_gives_nutpies_draws():
    model = _model()
    ours = sample_nutpie(model, draws=200, tune=200, chains=2, random_seed=SEED,
                         progressbar=False)
    theirs = pm.sample(draws=200, tune=200, chains=2, nuts_sampler="nutpie",
                       random_seed=SEED, progressbar=False, model=model,
                       compute_convergence_checks=False)
    np.testing.assert_array_equal(_draws(ours), _draws(theirs))
    assert set(ours["posterior"].data_vars) == set(theirs["posterior"].data_vars)
    assert {"constant_data", "observed_data"} <= set(ours.children)
    # a different seed gives different draws: the comparison above can fail
    other = sample_nutpie(model, draws=200, tune=200, chains=2, random_seed=SEED + 1,
                          progressbar=False)
    assert not np.array_equal(_draws(ours), _draws(other))


def test_compiled_logp_matches_the_model():
    model = _model()
    compiled = compile_nutpie(model)
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    logp = model.compile_logp()(point)
    # nutpie's own compiled model evaluates the same log density
    import nutpie

    ref = nutpie.compile_pymc_model(model, backend="numba")
    assert compiled.n_dim == ref.n_dim == x.size
    np.testing.assert_allclose(float(compiled.logp_func(x)[0]), logp, rtol=1e-12)


_CHILD = """
import hashlib, json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from tests.test_nutpie_cache import _model, _draws, SEED
from pymc_hier.nutpie_cache import sample_nutpie
t = time.perf_counter()
idata = sample_nutpie(_model(), draws=100, tune=100, chains=2, random_seed=SEED,
                      progressbar=False)
print(json.dumps({"digest": hashlib.sha256(_draws(idata).tobytes()).hexdigest(),
                  "seconds": time.perf_counter() - t}))
"""


@pytest.mark.slow
def test_a_second_process_loads_the_callbacks_and_draws_the_same(tmp_path):
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'pt'}",
               NUMBA_CACHE_DIR=str(tmp_path / "nb"), PYTHONPATH=str(ROOT))

    def child():
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = child()
    cached = sorted(p.name for p in (tmp_path / "pt" / "numba").glob("*pymc_hier_nutpie*"))
    assert any(n.endswith(".nbi") for n in cached), cached  # the callbacks were stored
    warm = child()
    assert warm["digest"] == cold["digest"]
