"""The radioactive-widget decay model, one layer a module, bottom to top.

=================  ==========================================================================
module             what lives there
=================  ==========================================================================
``data``           :class:`DecayData`, the validated container of widgets and measurements
``simulate``       :func:`simulate_decay`, the lecture's faux data (and any size)
``problem``        options, time scale, default prior and data checks (no model graph)
``kernels``        NumPy kernels: the measurement density in log space, day quadrature
``draw_kernels``   Numba kernel of the exact ``(t0, N0)`` pair draws
``draws``          exact per-widget draws given ``alpha`` (rejection and inversion)
``graph``          symbolic (PyTensor) twins of the kernels
``ops``            fused PyTensor ops of the density (Numba kernels, JAX expansion)
``rank_op``        fused op of the latent-amount rank transform
``transforms``     value transforms that make NUTS fast (quantile map, t0 edge, rank)
``likelihood``     the ``t0="marginal"`` likelihood graph
``pilot``          the map of alpha fitted to its exact posterior (sampler coordinates)
``moments``        mean and sd of ``alpha``, tails included (``inf`` where they do not exist)
``exact``          the exact posterior by quadrature, with i.i.d. draws
``model``          :func:`decay_model`, the PyMC model
``family``         the family record tying these together for every pymc_hier tool
=================  ==========================================================================

Public names are re-exported by :mod:`pymc_hier`; nothing is imported here.
"""
