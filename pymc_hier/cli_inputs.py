"""What ``pymc-hier`` checks before any work, and how it writes its outputs.

Every input (the family, data file, options, priors, seed, sampler, swept values, the
saved files read and the paths written) is checked before anything is sampled or written;
a bad one is a :class:`UserError`: one line, exit status 2, nothing left behind.

Outputs are written atomically: ``run``'s folder is built as a hidden folder beside
``--out`` (:class:`StagedFolder`) and swapped in at the end, so a folder never mixes two
runs; single files go through :func:`pymc_hier.save`, :func:`write_netcdf` or the
report's own atomic write. Folders created for an output are removed again on failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from pymc_hier._atomic import make_parents, remove, remove_created, remove_stale, replace

__all__ = ["RUN_FILES", "StagedFolder", "UserError", "check_new_file", "check_run_folder",
           "check_seed", "check_sweep_values", "find_family", "load_data", "load_saved",
           "load_sweep", "model_options", "one_line", "parse_values", "user_input",
           "write_netcdf"]

#: The files ``pymc-hier run`` writes into its folder.
RUN_FILES = frozenset({"idata.nc", "sweep.nc", "report.html", "pgm.dot", "pgm.svg",
                       "pgm.png", "timings.json"})


class UserError(Exception):
    """Bad input from the user: reported in one line with exit status 2."""


def one_line(err: BaseException) -> str:
    """Return the error's message on one line (an OSError's names its file)."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())


@contextmanager
def user_input(what: str = ""):
    """Report ``ValueError``, ``TypeError`` and ``OSError`` as a :class:`UserError`.

    Used only around the checks of the user's input, where those exceptions mean bad
    input; the message is prefixed with ``what`` (the option or file concerned).
    """
    try:
        yield
    except UserError:
        raise
    except (ValueError, TypeError, OSError) as err:
        text = one_line(err)
        if what:  # "--values" and "values: not unique" say it once
            text = f"{what}: {text.removeprefix(what.lstrip('-') + ': ')}"
        raise UserError(text) from None


# -- model, data and options ---------------------------------------------------------------
def find_family(name: str):
    """Return the model family called ``name`` on the command line (see :func:`get_family`)."""
    from pymc_hier.registry import get_family

    try:
        return get_family(name)
    except (TypeError, ValueError) as err:
        raise UserError(one_line(err).removeprefix("family: ")) from None


def load_data(family, path: str | None):
    """Return the data for ``family`` from a CSV file, or the family's example data."""
    if path is None:
        if family.example_data is None:
            raise UserError(f"--data: the {family.command!r} model has no built-in data; give "
                            "a CSV file")
        return family.example_data()
    p = Path(path)
    if p.is_dir():
        raise UserError(f"--data: {path} is a folder, not a CSV file")
    if not p.exists():
        raise UserError(f"--data: no such file {path!r}")
    try:
        with p.open("rb"):  # unreadable: say so before pandas does
            pass
        return family.data_from_csv(p)
    except (ValueError, TypeError, OSError) as err:
        text = one_line(err)
        if text.startswith("path: "):  # names the file already
            raise UserError(f"--data: {text.removeprefix('path: ')}") from None
        raise UserError(f"--data {path}: {text}") from None


def model_options(family, args) -> dict:
    """Return the family's options given on the command line (``--t0 known``, ``--option k=v``)."""
    options = {}
    for name in family.options:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = _option_value(value, family.options[name])
    for item in getattr(args, "option", None) or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--option: expected KEY=VALUE, got {item!r}")
        known = list(family.options)
        if key not in known:
            raise UserError(f"--option: the {family.command!r} model has no option {key!r} "
                            f"(options: {', '.join(known) or 'none'})")
        options[key] = _option_value(value, family.options[key])
    with user_input("--option"):
        family.check_options(options, factory=family.command)
    return options


def _option_value(text: str, accepted: tuple):
    for value in accepted:
        if str(value) == text:
            return value
    try:
        return json.loads(text)
    except ValueError:
        return text


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is a valid random seed."""
    from pymc_hier.seeds import resolve_seed

    with user_input("--seed"):
        return resolve_seed(seed)[0]


# -- prior sweeps --------------------------------------------------------------------------
def parse_values(text: str | None) -> list[float] | None:
    """Return ``--values 1,5,25`` as numbers (None when not given)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise UserError("--values: empty; give comma-separated numbers such as 1,5,25")
    values = []
    for p in parts:
        try:
            values.append(float(p))
        except ValueError:
            raise UserError(f"--values: {p!r} is not a number") from None
    return values


def check_sweep_values(model, param: str, values, *, sampler: str = "nutpie") -> list | None:
    """Check the swept settings against the parameter's domain and the data, before sampling.

    The steps :func:`pymc_hier.prior_sweep` takes before it samples (resolve the settings,
    lift the swept hyperparameters to ``pm.Data``,
    :func:`~pymc_hier.sensitivity.checks.check_settings`), taken early: ``run`` samples
    its fit before its sweep. ``sampler`` is the sweep's: exact draws start nowhere, so
    only the family's own checks apply to them. Returns what ``check_settings`` returns
    (for a family's model, the model built with each setting; the sweep's
    ``check_values`` takes it).
    """
    from pymc_hier.sensitivity.checks import check_settings
    from pymc_hier.sensitivity.hyper import lift_hyperparameters
    from pymc_hier.sensitivity.settings import resolve_settings
    from pymc_hier.spec import get_spec

    spec = get_spec(model)
    with user_input("--values"):
        plan = resolve_settings(model, spec, param, values)
        return check_settings(lift_hyperparameters(model, plan.lift) if plan.lift else model,
                              spec, plan, start=sampler != "exact", built=model)


# -- files read ----------------------------------------------------------------------------
def load_saved(path: str, what: str = "idata"):
    """Load a saved DataTree and rebuild its model; return ``(idata, model)``."""
    from pymc_hier import load
    from pymc_hier.registry import model_from_fit

    if not Path(path).exists():
        raise UserError(f"{what}: no such file {path!r}")
    try:
        idata = load(path)
        model = model_from_fit(idata)
    except (ValueError, TypeError, OSError) as err:
        raise UserError(f"{what}: {one_line(err).removeprefix('path: ')}"
                        f"{'' if path in str(err) else f' ({path})'}") from None
    return idata, model


def load_sweep(path: str):
    """Read a sweep written by ``pymc-hier sweep`` (a netCDF Dataset with a ``setting`` dim)."""
    import xarray as xr

    p = Path(path)
    if not p.is_file():
        raise UserError(f"--sweep: {'a folder' if p.is_dir() else 'no such file'} {path!r}")
    try:
        ds = xr.load_dataset(p)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - every reader failure means a bad file
        raise UserError(f"--sweep {path}: cannot read it as netCDF ({one_line(err)})") from None
    if "setting" not in ds.dims or "status" not in ds or "param" not in ds.attrs:
        raise UserError(f"--sweep {path}: not a prior sweep (no 'setting' dimension, "
                        "'status' variable or 'param' attr); write one with pymc-hier sweep")
    return ds


# -- files and folders written -------------------------------------------------------------
def _check_writable(path: Path, what: str) -> None:
    """Refuse ``path`` unless the nearest existing folder above it is writable."""
    p = path.parent
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise UserError(f"{what}: cannot create {path} ({p} is a file)")
    if not os.access(p, os.W_OK | os.X_OK):
        raise UserError(f"{what}: cannot write {path} (folder {p} is not writable)")


def check_new_file(path: str | Path, what: str, *, overwrite: bool,
                   suffixes: tuple[str, ...] | None = None) -> Path:
    """Check that ``path`` can be written: not a folder, new unless ``overwrite``."""
    path = Path(path)
    if suffixes and path.suffix not in suffixes:
        raise UserError(f"{what}: {path} should end in {' or '.join(suffixes)}")
    zarr = path.suffix == ".zarr"
    if path.is_dir() and not zarr:
        raise UserError(f"{what}: {path} is a folder; give a file name")
    if path.exists() and not overwrite:
        raise UserError(f"{what}: {path} exists; pass --overwrite to replace it")
    _check_writable(path, what)
    return path


def check_run_folder(out: str | Path, *, overwrite: bool) -> Path:
    """Check ``run``'s ``--out``: new or empty, or (``--overwrite``) an earlier run's."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} is a file, not a folder")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    foreign = [e for e in entries if e not in RUN_FILES]
    if foreign:
        raise UserError(f"--out: {out} holds files pymc-hier run did not write "
                        f"({', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}); "
                        "choose another folder (a run's folder is replaced as a whole)")
    if entries and not overwrite:
        raise UserError(f"--out: {out} already holds a run ({', '.join(entries[:3])}"
                        f"{' ...' if len(entries) > 3 else ''}); pass --overwrite to replace "
                        "it, or choose another folder")
    _check_writable(out, "--out")
    return out


class StagedFolder:
    """A folder built under a hidden name beside ``target`` and swapped in when complete.

    ``with StagedFolder(out) as folder:`` yields the hidden folder; leaving the block
    normally replaces ``out`` by it (an existing ``out`` is set aside first and removed),
    leaving it by an exception removes it and any parent folder created for it.
    """

    def __init__(self, target: Path):
        self.target = Path(target)
        self._created: list[Path] = []
        self.folder: Path | None = None

    def __enter__(self) -> Path:
        self._created = make_parents(self.target.parent)
        remove_stale(self.target)
        self.folder = Path(tempfile.mkdtemp(
            prefix=f".{self.target.name}.pymc-hier-tmp-{os.getpid()}-",
            dir=self.target.parent))
        self.folder.chmod(_default_mode(0o777))  # mkdtemp's is 0o700
        return self.folder

    def __exit__(self, kind, err, tb) -> None:
        if kind is None:
            try:
                replace(self.folder, self.target)
                return
            except BaseException:
                remove(self.folder)
                remove_created(self._created)
                raise
        remove(self.folder)
        remove_created(self._created)


def _default_mode(mode: int) -> int:
    """``mode`` less the process's umask: what a plain ``open``/``mkdir`` would give."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


@contextmanager
def created_parents(path: Path):
    """Create ``path``'s missing parent folders; remove them again if the block fails."""
    created = make_parents(path.parent)
    try:
        yield
    except BaseException:
        remove_created(created)
        raise


def write_netcdf(ds, path: Path, *, overwrite: bool = False) -> Path:
    """Write a Dataset to ``path`` through a temporary file beside it, renamed into place."""
    path = Path(path)
    with created_parents(path):
        if path.exists() and not overwrite:
            raise UserError(f"--out: {path} exists; pass --overwrite to replace it")
        remove_stale(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.pymc-hier-tmp-{os.getpid()}-",
                                   suffix=".nc", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        try:
            tmp.chmod(_default_mode(0o666))  # mkstemp's is 0o600
            ds.to_netcdf(tmp)
            replace(tmp, path)
        except BaseException:
            remove(tmp)
            raise
    return path
