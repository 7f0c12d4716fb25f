"""JAX plumbing shared by the JAX backends of the exact posteriors.

- :func:`jax_context`: JAX with 64-bit floats enabled in the calling thread only
  (``jax.enable_x64(True)``), so other users of JAX in the process keep their settings;
- :func:`key_from`: a JAX key seeded from a NumPy generator (reproducible from the seed);
- :func:`device_kind` and :func:`describe_device`: where the computations run.

Before JAX is first imported here, :mod:`pymc.sampling.jax` is imported: it sets the number
of host CPU devices (``XLA_FLAGS``) that PyMC's JAX samplers run parallel chains on, which
only takes effect before JAX starts. Importing it first keeps a later
``fit(sampler="numpyro")`` in the same process able to run its chains in parallel.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

__all__ = ["describe_device", "device_kind", "jax_context", "key_from", "pow2_floor"]


def import_jax():
    """Import JAX, letting PyMC set up the host's devices first (see the module notes)."""
    if "pymc.sampling.jax" not in sys.modules:
        try:
            import pymc.sampling.jax  # noqa: F401  (sets XLA_FLAGS before JAX starts)
        except ImportError:  # pragma: no cover - PyMC's JAX extras missing
            pass
    try:
        import jax
    except ImportError:
        raise ImportError("backend='jax' needs JAX; install the jax extra: "
                          "pip install 'pymc_hier[jax]'") from None
    return jax


@contextlib.contextmanager
def jax_context():
    """JAX with 64-bit floats in this thread only; yields the ``jax`` module."""
    jax = import_jax()
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # JAX before the public context manager
        from jax.experimental import enable_x64 as enable
    with enable(True):
        yield jax


def device_kind(jax) -> str:
    """``"gpu"`` when JAX's default backend is a GPU, ``"other"`` otherwise."""
    return "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "other"


def describe_device() -> str:
    """JAX's default device in words (``"cuda:0 NVIDIA H200"``, ``"cpu:0"``)."""
    jax = import_jax()
    device = jax.devices()[0]
    kind = getattr(device, "device_kind", "")
    return f"{device.platform}:{device.id}" + (f" {kind}" if kind and kind != "cpu" else "")


def pow2_floor(n: int) -> int:
    """Return the largest power of two not above ``n`` (1 for ``n <= 1``)."""
    return 1 << max(0, int(n).bit_length() - 1)


def key_from(jax, rng: np.random.Generator):
    """Return a threefry JAX key made of two 32-bit words drawn from ``rng``."""
    words = rng.integers(0, 2**32, size=2, dtype=np.uint32)
    return jax.random.wrap_key_data(words, impl="threefry2x32")


def fetch_into(outs, values, row0: int, col0: int) -> None:
    """Copy device blocks ``values`` into the NumPy arrays ``outs`` at ``(row0, col0)``.

    The blocks may run past the arrays' ends (padding): what lies beyond is dropped.
    """
    for out, value in zip(outs, values, strict=True):
        n_rows = min(value.shape[0], out.shape[0] - row0)
        n_cols = min(value.shape[1], out.shape[1] - col0)
        out[row0:row0 + n_rows, col0:col0 + n_cols] = np.asarray(value)[:n_rows, :n_cols]
