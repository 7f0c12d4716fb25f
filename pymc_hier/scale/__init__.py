"""Beyond one machine: exact posteriors on a GPU (JAX) and on data in partitions (Dask).

=================  ==========================================================================
module             what lives there
=================  ==========================================================================
``jax_device``     JAX plumbing of the ``backend="jax"`` exact posteriors: 64-bit floats in
                   a thread-local context, keys from NumPy generators, the device in words
``blocks``         :class:`Blocks`: units in fixed-size row blocks, in memory or on a Dask
                   cluster, mapped in order; per-block random generators
``store``          :class:`DrawStore`: per-unit draws in a zarr store, chunk by chunk
``partitioned``    :func:`fit_partitioned`, the driver, and the protocol a family implements
                   (``ModelFamily.exact_partitioned``)
=================  ==========================================================================

The families' own pieces live with them: ``pymc_hier.decay.exact_jax``,
``pymc_hier.decay.block_kernels``, ``pymc_hier.decay.exact_partitioned``,
``pymc_hier.normal.exact_jax``, ``pymc_hier.normal.exact_partitioned``. Public names are
re-exported by :mod:`pymc_hier`; nothing is imported here.
"""
