"""The installed version of pymc_hier (no dependencies, so ``import pymc_hier`` stays cheap)."""

from importlib.metadata import PackageNotFoundError, version


def pymc_hier_version() -> str:
    """Return the installed version of pymc_hier (``"0+unknown"`` from a bare source tree)."""
    try:
        return version("pymc_hier")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"
