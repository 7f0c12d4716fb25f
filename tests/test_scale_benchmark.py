"""Keep ``benchmarks/scale.py`` from rotting: its summary helpers and one tiny --quick run.

The numbers are not checked (a benchmark, not a timed test); what is checked is that a
worker subprocess runs the user's path end to end and reports every field, and that the
table, growth exponent and target verdicts are computed from the rows.
"""

import math
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scale  # noqa: E402


def _row(model, n, total, ess=500.0, sampler="nutpie"):
    return {"model": model, "n": n, "sampler": sampler, "options": {"t0": "latent"},
            "imports_s": 1.0, "build_s": 0.1, "fit_s": total - 0.1, "sample_s": total / 2,
            "total_s": total, "ess_bulk": ess, "rhat": 1.0, "divergences": 0,
            "mean_depth": 2.0, "peak_rss_mb": 400.0}


def test_growth_exponent_and_targets():
    linear = [_row("normal", n, 1e-3 * n) for n in (10**2, 10**3, 10**4, 10**5)]
    quadratic = [_row("decay", n, 1e-8 * n**2, ess=300.0) for n in (10**3, 10**4, 10**5)]
    assert scale.growth_exponent(linear) == pytest.approx(1.0)
    assert scale.growth_exponent(quadratic) == pytest.approx(2.0)
    assert scale.growth_exponent(linear, "sample_s") == pytest.approx(1.0)
    assert math.isnan(scale.growth_exponent(linear[:2]))  # one row with N >= 1e3
    verdict = scale.targets(linear + quadratic)
    assert verdict["normal: N=1e5 ESS>=400 in <120 s"] is True  # 100 s, ESS 500
    assert verdict["normal: growth exponent <= 1"] is True
    assert verdict["decay: N=1e5 ESS>=400 in <120 s"] is False  # 100 s but ESS 300
    assert verdict["decay: growth exponent <= 1"] is False
    exact = [_row("decay", n, 1e-4 * n, ess=1000.0, sampler="exact") for n in (10**3, 10**5)]
    verdict = scale.targets(linear + exact)
    assert verdict["decay [exact]: N=1e5 ESS>=400 in <120 s"] is True   # 10 s, ESS 1000
    assert verdict["decay: N=1e5 ESS>=400 in <120 s"] is None           # no nutpie rows
    failed = {"model": "decay", "n": 10**6, "sampler": "nutpie", "error": "timed out"}
    text = scale.table(linear + [failed])
    assert text.count("\n") == 1 + len(linear) + 1
    assert "failed: timed out" in text and "500 (tau)" in text


def test_quick_run_end_to_end(tmp_path, capsys):
    """One worker subprocess (hierarchical normal, N = 10, 2 x 50 draws)."""
    out = tmp_path / "scale.json"
    result = scale.main(["--quick", "--models", "normal", "--max-n", "10",
                         "--json", str(out)])
    printed = capsys.readouterr().out
    assert "GPU: none visible to JAX; GPU rows skipped" in printed or result["gpu"]
    rows = [r for r in result["rows"] if r["sampler"] == "nutpie"]
    assert len(rows) == 1 and "error" not in rows[0], rows
    row = rows[0]
    assert row["n"] == 10 and row["options"]["parametrization"] == "marginal"
    assert row["draws"] == 50 and row["chains"] == 2
    assert row["total_s"] > 0 and row["peak_rss_mb"] > row["rss_after_imports_mb"] / 2
    assert math.isfinite(row["ess_bulk"]) and row["ess_bulk"] > 0
    assert ("| normal | parametrization=marginal, theta_storage=float32 | nutpie | 1e+01 |"
            in printed)
    assert out.exists() and "targets" in out.read_text()


def test_quick_exact_run(capsys):
    """One worker subprocess through fit(sampler="exact") (decay, N = 10)."""
    result = scale.main(["--quick", "--models", "decay", "--samplers", "exact",
                         "--max-n", "10"])
    (row,) = result["rows"]
    assert "error" not in row, row
    assert row["sampler"] == "exact" and row["divergences"] == 0 and row["mean_depth"] is None
    assert row["ess_bulk"] > 50     # 2 x 50 independent draws
    printed = capsys.readouterr().out
    assert "| decay | t0=latent, n0=marginal | exact [numpy] | 1e+01 |" in printed
    assert row["used"] in printed and row["used"].endswith(f" x{os.cpu_count()}")  # the CPU


def test_scale_targets_of_the_gpu_and_cluster_rows():
    """The issue-23 verdicts: GPU rows count only when the device was a GPU."""
    def row(n, total, backend, used):
        return {**_row("decay", n, total, ess=1000.0, sampler="exact"), "backend": backend,
                "used": used}

    gpu = [row(10**5, 1.0, "jax", "JAX gpu:0 NVIDIA H200"),
           row(10**6, 8.0, "jax", "JAX gpu:0 NVIDIA H200"),
           row(10**7, 90.0, "jax", "JAX gpu:0 NVIDIA H200")]
    cpu = [row(10**6, 5.0, "jax", "JAX cpu:0")]
    dask = [row(10**5, 20.0, "dask", "LocalCluster 2 workers"),
            row(10**6, 200.0, "dask", "LocalCluster 2 workers")]
    verdict = scale.targets(gpu + dask)
    assert verdict["decay [exact, jax]: N=1e6 on one GPU in <10 s"] is True
    assert verdict["decay [exact, jax]: N=1e7 on one GPU in <60 s"] is False
    assert verdict["decay [exact, jax]: growth exponent <= 1"] is True   # 0.98
    assert verdict["decay [exact, dask]: N=1e6 on the LocalCluster in <180 s"] is False
    assert verdict["decay [exact, dask]: growth exponent <= 1"] is True
    assert scale.targets(cpu)["decay [exact, jax]: N=1e6 on one GPU in <10 s"] is None
    text = scale.table(gpu)
    assert "| exact [jax] |" in text and "NVIDIA H200 |" in text


@pytest.mark.slow
def test_quick_dask_run():
    """One worker subprocess starting a 2-worker LocalCluster (decay, N = 10)."""
    result = scale.main(["--quick", "--models", "decay", "--samplers", "exact", "--backends",
                         "dask", "--max-n", "10"])
    (row,) = result["rows"]
    assert "error" not in row, row
    assert row["backend"] == "dask" and row["used"].startswith("LocalCluster 2 workers")
    assert len(row["worker_rss_mb"]) == 2 and row["store_mb"] > 0 and row["ess_bulk"] > 50
    # the load average is recorded around the run and each row (others may share the CPU)
    assert len(result["load_average"]["start"]) == 3 and len(result["load_average"]["end"]) == 3
    assert set(row["load_average"]) == {"before", "after"}
