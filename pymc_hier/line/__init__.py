"""The straight line with known error bars: the lecture's first graphical model.

=================  ==========================================================================
module             what lives there
=================  ==========================================================================
``data``           :class:`LineData` (points ``x``, ``y`` and the standard errors of ``y``)
``model``          the PyMC graph: ``y_i ~ Normal(m x_i + b, sigma_y,i)``
``exact``          the exact (Gaussian) posterior of ``m`` and ``b`` for normal or flat priors
``family``         :func:`straight_line_model` and the family record :data:`STRAIGHT_LINE`
=================  ==========================================================================

Public names are re-exported by :mod:`pymc_hier`; nothing is imported here.
"""
