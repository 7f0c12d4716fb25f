"""The provenance section: how the fit (and the sweep) were made, and the timestamp line.

The fit's ``created_at`` attr goes into the one timestamp line at the top of the page,
never into the table, so that two reports of identical runs differ in that line only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import xarray as xr

from pymc_hier.reports import html as H

__all__ = ["TIMESTAMP_ATTRS", "provenance_section", "timestamp_line"]

#: Attrs that differ between identical runs: shown on the timestamp line only.
TIMESTAMP_ATTRS = ("created_at",)
_ORDER = ("family", "factory", "factory_options", "priors", "sampler", "sampler_kwargs",
          "random_seed", "random_seed_source", "draws", "tune", "chains", "postprocess",
          "predictive_random_seed", "predictive_random_seed_source", "data_hash",
          "config_hash", "model_hash", "pymc_hier_version", "versions")


def _value(value) -> str:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict):
            return ", ".join(f"{k}: {json.dumps(v, sort_keys=True)}"
                             for k, v in sorted(parsed.items())) or "none"
        return json.dumps(parsed, sort_keys=True)
    return str(value)


def _rows(attrs: dict) -> list[tuple[str, str]]:
    keys = [k for k in _ORDER if k in attrs]
    keys += sorted(k for k in attrs if k not in keys and k not in TIMESTAMP_ATTRS)
    return [(k.replace("_", " "), _value(attrs[k])) for k in keys]


def timestamp_line(idata: xr.DataTree, now: str) -> str:
    """Write the timestamp line: when the report was written and when the fit was made."""
    made = idata.attrs.get("created_at")
    if isinstance(made, str):
        try:
            made = datetime.fromisoformat(made).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            pass
    return f"Report written {now}" + (f"; fit made {made}." if made else ".")


def provenance_section(idata: xr.DataTree, sweep: xr.Dataset | None, command: str | None) -> str:
    """Tables of the fit's (and the sweep's) provenance attrs and the command line."""
    rows = _rows(dict(idata.attrs))
    if command:
        rows.append(("command", command))
    parts = [H.kv_table(rows)]
    if sweep is not None:
        parts.append("<h3>Prior sweep</h3>")
        parts.append(H.kv_table(_rows({k: v for k, v in sweep.attrs.items()})))
    return "\n".join(parts)
