#!/usr/bin/env bash
# The GPU rows of benchmarks/scale.py (issue 23): fit(sampler="exact", backend="jax") of the
# decay model (10^4 ... 10^7 widgets, every widget's t0 and N0 drawn) and of the
# hierarchical normal (10^5 ... 10^7 groups), on JAX's default device.
#
# Prepare, on a machine with a package registry (once; the wheels land in .whl/, ignored by
# git, about 6 MB):
#     bash benchmarks/gpu.sh --download
# Run on the GPU machine from the repository root, carrying .whl (the device tool: carry
# [".whl"], timeout_s 420; about 5 minutes of the 15-minute budget, leaving room for a rerun):
#     bash benchmarks/gpu.sh 2>&1 | tee "$OUT/log"
# Each size group writes its own JSON under $OUT (benchmarks/results/gpu without $OUT), so a
# timeout keeps what finished. GPU_SH_QUICK=1 runs tiny sizes (a dry run on any machine).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=benchmarks/gpu_wheels.txt

if [ "${1:-}" = "--download" ]; then
    mkdir -p .whl
    exec "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d .whl -r <(grep -v '^#' "$WHEELS")
fi

OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/pymc_hier_site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/pymc_hier_site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
nproc; free -g | head -2
"$PY" - <<'EOF'
import importlib.metadata as md
import jax
print("JAX devices:", jax.devices())
print({p: md.version(p) for p in ("jax", "jaxlib", "numpy", "scipy", "xarray", "pymc", "pytensor", "numba")})
EOF

if [ "${GPU_SH_QUICK:-0}" = "1" ]; then
    SIZES_DECAY=(1e2 1e3) SIZE_BIG=1e3 SIZES_NORMAL=(1e2 1e3) DRAWS=100 DRAWS_BIG=50
else
    SIZES_DECAY=(1e4 1e6) SIZE_BIG=1e7 SIZES_NORMAL=(1e5 1e7) DRAWS=500 DRAWS_BIG=200
fi
run() {  # run NAME TIMEOUT ARGS...: one scale.py invocation, its JSON in $OUT/NAME.json
    local name=$1 limit=$2
    shift 2
    echo "== $name: scale.py $*"
    timeout "$limit" "$PY" benchmarks/scale.py --samplers exact --backends jax --chains 2 \
        --repeat 2 --json "$OUT/$name.json" "$@" || echo "== $name: exit status $?"
}
# 1000 draws per widget at 10^4 .. 10^6 (10^6 x 1000 x (t0, N0) in float64: 16 GB in host
# memory); 400 at 10^7 (64 GB): the host has 128 GB.
run decay 150 --models decay --min-n "${SIZES_DECAY[0]}" --max-n "${SIZES_DECAY[1]}" \
    --draws "$DRAWS" --budget 90
run decay_1e7 110 --models decay --min-n "$SIZE_BIG" --max-n "$SIZE_BIG" \
    --draws "$DRAWS_BIG" --budget 100
run normal 100 --models normal --min-n "${SIZES_NORMAL[0]}" --max-n "${SIZES_NORMAL[1]}" \
    --draws "$DRAWS" --theta-storage float32 --budget 60
echo "== done"; ls -la "$OUT"
