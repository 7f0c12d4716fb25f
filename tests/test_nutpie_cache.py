"""nutpie compile cache: the same draws as nutpie's own compile, in this process and the next."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor.tensor as pt
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
    """nutpie's own compile, with IEEE arithmetic as ours, draws the same."""
    import pytensor

    model = _model()
    ours = sample_nutpie(model, draws=200, tune=200, chains=2, random_seed=SEED,
                         progressbar=False)
    with pytensor.config.change_flags(numba__fastmath=False):
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


def _callback_logp(compiled, x):
    """Call the C callback nutpie calls: ``(status, log density, gradient)``."""
    import ctypes

    x = np.ascontiguousarray(x, dtype=float)
    grad, logp = np.zeros_like(x), np.zeros(())
    ptr = ctypes.POINTER(ctypes.c_double)
    status = compiled.compiled_logp_func.ctypes(
        x.size, x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    return status, float(logp), grad


def _raw_callbacks(logp_inner, expand_inner, n_dim=2):
    """The logp and expand callbacks of :func:`_cfunc` around two Numba functions, uncached."""
    from pymc_hier import nutpie_cache as nc

    dtype = np.dtype([("shared", [("data", []), ("size", []), ("shape", [])])])
    kw = {"keys": [], "shared": {}, "record_dtype": dtype, "inner_key": None}
    logp, _ = nc._cfunc(nc._LOGP_SOURCE, "test_raw_logp", logp_inner,
                        signature=nc._signature("logp"), n_dim=n_dim, **kw)
    expand, _ = nc._cfunc(nc._EXPAND_SOURCE, "test_raw_expand", expand_inner,
                          signature=nc._signature("expand"), n_dim=n_dim,
                          n_expanded=n_dim, **kw)
    return logp, expand


def test_the_callbacks_report_failures_as_nutpie_reads_them(monkeypatch):
    """Status 3 for a non-finite gradient, 4 for a non-finite density, 1 for an exception
    (nutpie counts each as a divergence); an expansion that raised leaves NaN draws
    (nutpie 0.16 does not read its status)."""
    import ctypes

    import numba

    @numba.njit
    def logp_inner(x):
        if x[0] > 10.0:
            raise ValueError("outside")
        return np.asarray(np.log(x[1]) - 0.5 * x[0] ** 2), np.array([-x[0], np.exp(x[1])])

    @numba.njit
    def expand_inner(x):
        if x[0] > 10.0:
            raise ValueError("outside")
        return (2.0 * x,)

    logp, expand = _raw_callbacks(logp_inner, expand_inner)
    ptr = ctypes.POINTER(ctypes.c_double)
    told = []   # an exception that escaped a callback would be told on this hook
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: told.append(hook.exc_value))

    def call_logp(x):
        x = np.asarray(x, dtype=float)
        grad, value = np.zeros(2), np.zeros(())
        status = logp.ctypes(2, x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr),
                             value.ctypes.data_as(ptr), None)
        return status, float(value), grad

    def call_expand(x):
        x, out = np.asarray(x, dtype=float), np.zeros(2)
        status = expand.ctypes(2, 2, x.ctypes.data_as(ptr), out.ctypes.data_as(ptr), None)
        return status, out

    status, value, grad = call_logp([1.0, 1.0])
    assert status == 0 and value == -0.5 and grad.tolist() == [-1.0, np.e]
    assert call_logp([1.0, 1000.0])[0] == 3               # gradient inf
    assert call_logp([1.0, -1.0])[0] == 4                 # log of a negative: NaN density
    assert told == []
    assert call_logp([11.0, 1.0])[0] == 1                 # raised inside
    assert call_expand([1.0, 2.0])[0] == 0 and call_expand([1.0, 2.0])[1].tolist() == [2.0, 4.0]
    status, out = call_expand([11.0, 2.0])
    assert status == -2 and np.isnan(out).all()
    assert told == []
    # the wrong sizes are refused before anything is read
    assert logp.ctypes(3, None, None, None, None) == -1
    assert expand.ctypes(2, 3, None, None, None) == -1


def test_compiled_logp_matches_the_model(monkeypatch, tmp_path):
    import nutpie

    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    model = _model()
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    logp = model.compile_logp()(point)
    dlogp = model.compile_dlogp()(point)
    ref = nutpie.compile_pymc_model(model, backend="numba")
    compiled = compile_nutpie(model)           # compiled: the model's description stored
    assert compiled.logp_func is not None and len(list(tmp_path.glob("*.json"))) == 1
    again = compile_nutpie(_model())           # the same model built again: loaded
    assert again.logp_func is None
    for c in (compiled, again):
        assert c.n_dim == ref.n_dim == x.size
        status, value, grad = _callback_logp(c, x)
        assert status == 0
        np.testing.assert_allclose(value, logp, rtol=1e-12)
        np.testing.assert_allclose(grad, dlogp, rtol=1e-10)
    assert again.shape_info[0] == compiled.shape_info[0]
    assert again.dims == compiled.dims and again.shapes == compiled.shapes


def test_a_loaded_model_draws_what_a_compiled_one_draws(monkeypatch, tmp_path):
    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    kw = {"draws": 100, "tune": 100, "chains": 2, "random_seed": SEED, "progressbar": False}
    compiled = sample_nutpie(_model(), **kw)
    loaded = sample_nutpie(_model(), **kw)
    np.testing.assert_array_equal(_draws(compiled), _draws(loaded))
    # other data: another model, compiled anew; its own draws
    other = _model()
    other["x"].set_value(np.linspace(0.0, 2.0, 6))
    assert nutpie_cache._model_key(other, None, [other.logp()])[0] != nutpie_cache._model_key(
        _model(), None, [_model().logp()])[0]
    assert not np.array_equal(_draws(sample_nutpie(other, **kw)), _draws(compiled))


def test_compiling_is_announced_and_loading_is_not(monkeypatch, tmp_path, caplog):
    import logging

    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    with caplog.at_level(logging.INFO, logger="pymc_hier.nutpie_cache"):
        compile_nutpie(_model())
        compile_nutpie(_model())              # loaded: nothing to say
        monkeypatch.setattr(nutpie_cache, "_model_key", lambda model, var_names, logps: None)
        compile_nutpie(_model())              # no key: compiled in every process
    said = [r.getMessage() for r in caplog.records if r.name == "pymc_hier.nutpie_cache"]
    assert len(said) == 2 and all(m.startswith("compiling the model for nutpie: ")
                                  for m in said)
    assert "not in the compile cache yet" in said[0] and "no cache key" in said[1]


def test_a_stale_description_is_compiled_again(monkeypatch, tmp_path):
    import json

    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    model = _model()
    compile_nutpie(model)
    (path,) = tmp_path.glob("*.json")
    meta = json.loads(path.read_text())
    meta["logp"][1] = "0" * 64                 # callbacks no longer on disk
    path.write_text(json.dumps(meta))
    compiled = compile_nutpie(model)
    assert compiled.logp_func is not None       # compiled, not loaded
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    assert _callback_logp(compiled, x)[1] == pytest.approx(model.compile_logp()(point))
    path.write_text("{not json")
    assert compile_nutpie(model).logp_func is not None


def test_starting_points_are_pymcs_and_a_later_model_reads_them_without_compiling(
        monkeypatch, tmp_path):
    import pymc.initial_point

    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    options = {"default_strategy": "support_point", "return_transformed": True}
    model = _model()
    pymcs = pymc.initial_point.make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), **options)
    ours = nutpie_cache.initial_point_function(model)(123)
    assert sorted(ours) == sorted(pymcs(123)) == ["mu", "sigma_log__"]
    for name, value in pymcs(123).items():
        np.testing.assert_array_equal(ours[name], value)
    assert [p.name.split("-initial-")[1] for p in tmp_path.glob("*.npz")] == ["123.npz"]

    def no_compile(**kwargs):
        raise AssertionError("compiled")

    monkeypatch.setattr(pymc.initial_point, "make_initial_point_fn", no_compile)
    again = nutpie_cache.initial_point_function(_model())  # the same model built again
    for name, value in ours.items():
        np.testing.assert_array_equal(again(123)[name], value)
    with pytest.raises(AssertionError, match="compiled"):
        again(124)                                 # another seed: PyMC's function
    other = _model()                               # data the starting points do not use
    other["x"].set_value(np.linspace(0.0, 2.0, 6))
    np.testing.assert_array_equal(nutpie_cache.initial_point_function(other)(123)["mu"],
                                  ours["mu"])
    for initval, scale in [(1.0, 2.0), (None, 3.0)]:  # another start, another prior
        with pm.Model() as changed:
            pm.Normal("mu", 0.0, 5.0, initval=initval)
            pm.HalfNormal("sigma", scale)
        with pytest.raises(AssertionError, match="compiled"):
            nutpie_cache.initial_point_function(changed)(123)
    with pm.Model() as same:                       # the same starting points' graph
        pm.Normal("mu", 0.0, 5.0)
        pm.HalfNormal("sigma", 2.0)
    np.testing.assert_array_equal(nutpie_cache.initial_point_function(same)(123)["mu"],
                                  ours["mu"])
    (stored,) = tmp_path.glob("*.npz")
    stored.write_bytes(b"not a npz file")          # damaged: PyMC's function again
    with pytest.raises(AssertionError, match="compiled"):
        again(123)


def test_starting_points_follow_set_data(monkeypatch, tmp_path):
    import pymc.initial_point

    from pymc_hier import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    with pm.Model() as model:                      # the starting point: mu
        mu = pm.Data("mu", 0.0)
        pm.Normal("x", mu, 1.0)
    ours = nutpie_cache.initial_point_function(model)
    before = ours(7)["x"]
    pm.set_data({"mu": 4.0}, model=model)
    pymcs = pymc.initial_point.make_initial_point_fn(
        model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)
    after = pymcs(7)["x"]
    assert after == before + 4.0
    assert ours(7)["x"] == after                   # not the values stored before
    assert nutpie_cache.initial_point_function(model)(7)["x"] == after


_CHILD = """
import hashlib, json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from tests.test_nutpie_cache import _model, _draws, SEED
import pymc_hier.nutpie_cache as nc
from pymc_hier.nutpie_cache import compile_nutpie, sample_nutpie
aside, real = [], nc._loaded_aside
def spy(*args):
    fn, key = real(*args)
    aside.append(fn is not None)
    return fn, key
nc._loaded_aside = spy
if sys.argv[2] == "serial":
    nc._compile_aside = lambda *args: None
t = time.perf_counter()
loaded = compile_nutpie(_model()).logp_func is None
idata = sample_nutpie(_model(), draws=100, tune=100, chains=2, random_seed=SEED,
                      progressbar=False)
print(json.dumps({"digest": hashlib.sha256(_draws(idata).tobytes()).hexdigest(),
                  "seconds": time.perf_counter() - t, "loaded": loaded, "aside": aside}))
"""


@pytest.mark.slow
def test_a_second_process_loads_the_callbacks_and_draws_the_same(tmp_path):
    """A first process compiles (the draw-expansion callback in a forked process, where
    there are two cores), a second loads; both draw what a compile all in one process
    draws."""
    from pymc_hier.background import can_fork

    def child(folder, mode="aside"):
        env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={folder / 'pt'}",
                   NUMBA_CACHE_DIR=str(folder / "nb"), PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), mode], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=300,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    cold = child(tmp_path)
    cached = sorted(p.name for p in (tmp_path / "pt" / "numba").glob("*pymc_hier_nutpie*"))
    assert any(n.endswith(".nbi") for n in cached), cached  # the callbacks were stored
    warm = child(tmp_path)
    assert warm["digest"] == cold["digest"]
    # the first process compiled the model; the second loaded it (no PyTensor compile)
    assert not cold["loaded"] and warm["loaded"]
    two_cores = (os.cpu_count() or 1) > 1 and can_fork()
    assert cold["aside"] == ([True] if two_cores else []) and warm["aside"] == []
    serial = child(tmp_path / "serial", "serial")
    assert not serial["loaded"] and serial["aside"] == []
    assert serial["digest"] == cold["digest"]


_FIRST_AND_LATER = """
import ctypes, hashlib, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import pymc_hier.nutpie_cache as nc
from pymc_hier import decay_model, simulate_decay
nc._FAST_MATH = sys.argv[2] == "fast"
compiled = nc.compile_nutpie(decay_model(simulate_decay(seed=0)))
ptr = ctypes.POINTER(ctypes.c_double)
digest = hashlib.sha256()
for x in np.random.default_rng(1).normal(size=(2000, compiled.n_dim)) * 0.5:
    grad, logp = np.zeros_like(x), np.zeros(())
    compiled.compiled_logp_func.ctypes(
        x.size, x.ctypes.data_as(ptr), grad.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    digest.update(logp.tobytes() + grad.tobytes())
print(compiled.logp_func is None, digest.hexdigest())
"""


@pytest.mark.slow
def test_a_first_run_computes_what_later_runs_compute(tmp_path):
    """The decay model's log density and gradient at 2000 points: the process that
    compiles the callbacks and the next one, which loads them, agree bit for bit. With
    PyTensor's fast-math flags they do not (what IEEE arithmetic is chosen for)."""

    def child(folder, math):
        env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={folder / 'pt'}",
                   NUMBA_CACHE_DIR=str(folder / "nb"))
        out = subprocess.run([sys.executable, "-c", _FIRST_AND_LATER, str(ROOT), math],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                             check=True)
        return out.stdout.split()

    first, later = child(tmp_path / "ieee", "ieee"), child(tmp_path / "ieee", "ieee")
    assert (first[0], later[0]) == ("False", "True")      # compiled, then loaded
    assert first[1] == later[1]
    first, later = child(tmp_path / "fast", "fast"), child(tmp_path / "fast", "fast")
    assert (first[0], later[0]) == ("False", "True")
    assert first[1] != later[1]


def test_a_callback_compiled_aside_that_failed_is_compiled_here():
    """A forked compile that raised, or whose key differs, gives (None, None): the caller
    compiles the callback itself."""
    from pymc_hier.background import start
    from pymc_hier.nutpie_cache import _loaded_aside

    def fails():
        raise RuntimeError("no compiler here")

    loads = []

    def compile_callback(**kwargs):
        loads.append(kwargs)
        return "fn", kwargs["inner_key"]

    assert _loaded_aside((start({"compile": fails}, parallel=False), "k"),
                         compile_callback) == (None, None)
    assert _loaded_aside((start({"compile": lambda: "other"}, parallel=False), "k"),
                         compile_callback) == (None, None)
    assert loads == []
    assert _loaded_aside((start({"compile": lambda: "k"}, parallel=False), "k"),
                         compile_callback) == ("fn", "k")
    assert loads == [{"inner": None, "inner_key": "k"}]


def test_a_failed_compile_stops_the_compile_aside(monkeypatch):
    import pymc_hier.nutpie_cache as nc

    closed = []

    class Side:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(nc, "_compile_aside", lambda *args: (Side(), "key"))
    monkeypatch.setattr(nc, "_model_key", lambda model, var_names, logps: None)
    real = nc._cfunc

    def failing(template, name, *args, **kwargs):
        if name == "pymc_hier_nutpie_logp":
            raise RuntimeError("no compiler here")
        return real(template, name, *args, **kwargs)

    monkeypatch.setattr(nc, "_cfunc", failing)
    with pytest.raises(RuntimeError, match="no compiler here"):
        compile_nutpie(_model())
    assert closed == [True]


def test_the_compile_aside_is_not_forked_beside_other_threads_or_jax(monkeypatch):
    """A thread of another library, or a started JAX runtime (native threads), makes
    forking unsafe: the callback is then compiled in this process. JAX merely imported
    (nutpie imports it) is no obstacle, nor are pymc_hier's own threads."""
    import threading
    from types import SimpleNamespace

    import pymc_hier.nutpie_cache as nc

    here = threading.current_thread()
    ours = SimpleNamespace(name="pymc-hier-background-results")
    theirs = SimpleNamespace(name="someone-elses")
    # the threads this process has are whatever earlier tests left: given here
    monkeypatch.setattr(threading, "enumerate", lambda: [here, ours])
    bridge = "jax._src.xla_bridge"
    monkeypatch.setitem(sys.modules, bridge, SimpleNamespace(_backends={}))
    assert nc._fork_is_safe()
    monkeypatch.setitem(sys.modules, bridge, SimpleNamespace(_backends={"cpu": object()}))
    assert not nc._fork_is_safe()
    monkeypatch.setitem(sys.modules, bridge, SimpleNamespace())   # internals changed
    assert not nc._fork_is_safe()
    monkeypatch.delitem(sys.modules, bridge)
    assert nc._fork_is_safe()
    monkeypatch.setattr(threading, "enumerate", lambda: [here, ours, theirs])
    assert not nc._fork_is_safe()


def _has_op(fn, op_type) -> bool:
    return any(isinstance(node.op, op_type) for node in fn.maker.fgraph.apply_nodes)


@pytest.mark.parametrize("wrong", [False, True])
def test_a_familys_own_density_is_compiled_where_it_equals_the_models(monkeypatch, tmp_path,
                                                                      wrong):
    """The decay family's fused density replaces PyMC's graph; a wrong one is refused."""
    from pymc_hier import decay_model, nutpie_cache, simulate_decay
    from pymc_hier.decay.fused import DecayWidgets, sampler_logp

    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    if wrong:   # differs by 1e-6 at every point: the check must see it
        monkeypatch.setattr(nutpie_cache, "_family_logp",
                            lambda m: sampler_logp(m) + 1e-6)
    model = decay_model(simulate_decay(seed=0, n_widgets=20))
    compiled = compile_nutpie(model)
    assert _has_op(compiled.logp_func, DecayWidgets) is not wrong
    point = model.initial_point()
    x = np.concatenate([np.ravel(point[v.name]) for v in model.value_vars])
    status, value, grad = _callback_logp(compiled, x)
    assert status == 0
    np.testing.assert_allclose(value, model.compile_logp()(point), rtol=1e-12)
    np.testing.assert_allclose(grad, model.compile_dlogp()(point), rtol=1e-10, atol=1e-12)


def test_the_familys_density_is_checked_at_three_points(monkeypatch, tmp_path):
    from pymc_hier import decay_model, nutpie_cache, simulate_decay
    from pymc_hier.decay.fused import sampler_logp

    # the starting points it stores go here, not into the user's cache
    monkeypatch.setattr(nutpie_cache, "_meta_path", lambda key: tmp_path / f"{key}.json")
    model = decay_model(simulate_decay(seed=0, n_widgets=20))
    points = nutpie_cache.initial_point_function(model)
    fused, logp = sampler_logp(model), model.logp()
    assert nutpie_cache._agrees(model, logp, fused, points)
    assert not nutpie_cache._agrees(model, logp, fused + 1e-6, points)
    # a difference at one point only is found as well
    seen = []

    def counting(seed):
        seen.append(seed)
        return points(seed)

    alpha = model.rvs_to_values[model["alpha"]]
    bump = pt.switch(pt.gt(alpha, 10.0), 1.0, 0.0)
    far = {0: 0.0, 1: 0.0, 2: 40.0}   # the third point only: z(alpha) from about -11 to 29
    assert not nutpie_cache._agrees(
        model, logp, fused + bump,
        lambda seed: {**points(seed), alpha.name: np.asarray(far[seed] + points(seed)[alpha.name])})
    assert nutpie_cache._agrees(model, logp, fused, counting) and seen == [0, 1, 2]


def test_the_shadow_model_answers_only_the_plain_logp_call():
    from pymc_hier import decay_model, nutpie_cache, simulate_decay
    from pymc_hier.decay.fused import sampler_logp

    model = decay_model(simulate_decay(seed=0, n_widgets=20))
    fused = sampler_logp(model)
    shadow = nutpie_cache._with_logp(model, fused)
    assert shadow.logp() is fused and model.logp() is not fused
    assert shadow.logp(jacobian=False) is not fused
    assert shadow.free_RVs == model.free_RVs and shadow.rvs_to_values is model.rvs_to_values
