"""The hierarchical normal model (eight schools, meta-analysis), one layer a module.

=================  ==========================================================================
module             what lives there
=================  ==========================================================================
``data``           :class:`SchoolsData` and the :data:`EIGHT_SCHOOLS` table
``problem``        data forms, prior presets, propriety checks (no model graph)
``kernels``        NumPy kernels: exact conditional draws of ``theta`` given ``(mu, tau)``
``exact``          the exact posterior (BDA 5.4): ``tau`` on a grid, the rest analytic
``model``          :func:`hierarchical_normal_model` and :func:`eight_schools_model`
``family``         the family records tying these together for every pymc_hier tool
=================  ==========================================================================

Public names are re-exported by :mod:`pymc_hier`; nothing is imported here.
"""
