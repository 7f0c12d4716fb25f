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

__all__ = ["DrawBlocks", "describe_device", "device_kind", "fetch_into", "jax_context",
           "key_from", "pow2_floor"]


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



class DrawBlocks:
    """Blocks of ``rows`` draws by ``chunks`` unit chunks covering ``(n_rows, n_units)``.

    The units are cut into chunks of ``unit_chunk`` (the random stream's unit: one key per
    draw and chunk) and a block holds about ``cells`` (draw, unit) pairs, so device memory
    stays bounded. :meth:`run` calls ``call(row0, chunk0)`` for every block (``rows`` rates
    from ``row0``, the units from chunk ``chunk0``, both padded past the ends) and copies
    each block's device results into ``outs`` while the next block computes.
    """

    def __init__(self, n_rows: int, n_units: int, unit_chunk: int, cells: int):
        self.n_rows, self.n_units, self.unit_chunk = int(n_rows), int(n_units), int(unit_chunk)
        self.n_chunks = -(-self.n_units // self.unit_chunk)
        self.chunks = max(1, min(self.n_chunks, int(cells) // self.unit_chunk))
        self.rows = max(1, min(self.n_rows, int(cells) // (self.chunks * self.unit_chunk)))
        self.span = self.chunks * self.unit_chunk
        self.width = -(-self.n_chunks // self.chunks) * self.span

    def pad_units(self, values, fill=None) -> np.ndarray:
        """``values`` (per unit) padded to the blocks' width with ``fill`` (its first)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        fill = values[0] if fill is None else fill
        return np.concatenate([values, np.full(self.width - values.size, fill)])

    def pad_rows(self, values, row0: int, fill=None) -> np.ndarray:
        """Rows ``row0 .. row0 + rows`` of ``values`` (per draw), padded with ``fill``."""
        part = np.asarray(values[row0:row0 + self.rows], dtype=np.float64)
        fill = part[0] if fill is None else fill
        return np.concatenate([part, np.full(self.rows - part.size, fill)])

    def run(self, call, outs) -> None:
        """Run ``call(row0, chunk0) -> tuple of device arrays`` over the blocks into ``outs``."""
        pending = None
        for r0 in range(0, self.n_rows, self.rows):
            for c0 in range(0, self.n_chunks, self.chunks):
                result = call(r0, c0)
                if pending is not None:
                    fetch_into(outs, *pending)
                pending = (result, r0, c0 * self.unit_chunk)
        if pending is not None:
            fetch_into(outs, *pending)

def fetch_into(outs, values, row0: int, col0: int) -> None:
    """Copy device blocks ``values`` into the NumPy arrays ``outs`` at ``(row0, col0)``.

    The blocks may run past the arrays' ends (padding): what lies beyond is dropped.
    """
    for out, value in zip(outs, values, strict=True):
        n_rows = min(value.shape[0], out.shape[0] - row0)
        n_cols = min(value.shape[1], out.shape[1] - col0)
        out[row0:row0 + n_rows, col0:col0 + n_cols] = np.asarray(value)[:n_rows, :n_cols]
