"""The API reference lists exactly the public names that exist (no stubs, none missing)."""

import importlib.util
import re
from pathlib import Path

import pytest

import pymc_hier
import pymc_hier.exact

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _documented() -> dict[str, set[str]]:
    """Map each ``currentmodule`` of docs/api.rst to the names in its autosummary tables."""
    names: dict[str, set[str]] = {}
    module = None
    in_table = False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
            continue
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            if line.strip().startswith(":") or not line.strip():
                continue
            if line.startswith("   "):
                names.setdefault(module, set()).add(line.strip())
                continue
            in_table = False
    return names


def _landed(lazy: dict[str, str]) -> set[str]:
    """The lazily exported names whose defining module is present in the source tree."""
    return {name for name, mod in lazy.items() if importlib.util.find_spec(mod) is not None}


@pytest.mark.parametrize("package", [pymc_hier, pymc_hier.exact], ids=lambda p: p.__name__)
def test_api_reference_lists_every_landed_public_name(package):
    documented = _documented().get(package.__name__, set())
    missing = _landed(package._LAZY) - documented
    assert not missing, (
        f"docs/api.rst lacks public names of {package.__name__}: {sorted(missing)}; "
        "add them to an autosummary table there"
    )


@pytest.mark.parametrize("package", [pymc_hier, pymc_hier.exact], ids=lambda p: p.__name__)
def test_api_reference_lists_only_existing_names(package):
    documented = _documented().get(package.__name__, set())
    unknown = documented - _landed(package._LAZY)
    assert not unknown, f"docs/api.rst documents names that do not exist: {sorted(unknown)}"
    for name in documented:
        assert getattr(package, name) is not None
