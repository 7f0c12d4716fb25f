"""save / load: lossless netCDF and zarr round-trips, and clear errors for foreign files."""

import os

import numpy as np
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.fitting import MARKER


def _assert_same_tree(original: xr.DataTree, loaded: xr.DataTree) -> None:
    """Groups, variables, values, dtypes, coords and attrs (with their Python types)."""
    assert sorted(n.path for n in original.subtree) == sorted(n.path for n in loaded.subtree)
    assert original.identical(loaded)
    for node in original.subtree:
        other = loaded[node.path]
        assert set(node.variables) == set(other.variables), node.path
        for name, var in node.variables.items():
            got = other.variables[name]
            assert var.dtype == got.dtype, (node.path, name, var.dtype, got.dtype)
            assert var.dims == got.dims, (node.path, name)
            assert var.attrs == got.attrs, (node.path, name)
        assert node.attrs.keys() == other.attrs.keys(), node.path
        for key, value in node.attrs.items():
            assert type(value) is type(other.attrs[key]), (node.path, key)
            assert value == other.attrs[key], (node.path, key)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_fit_round_trip_is_lossless(eight_schools_ppc, tmp_path, suffix):
    idata, _ = eight_schools_ppc
    assert {"posterior", "sample_stats", "diagnostics", "posterior_predictive", "prior",
            "prior_predictive", "log_likelihood", "observed_data", "constant_data"} <= set(
        idata.children)
    path = ph.save(idata, tmp_path / f"fit{suffix}")
    _assert_same_tree(idata, ph.load(path))


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_hand_made_tree_round_trip(tmp_path, suffix):
    """Fixed-width, object and bool variables, nested groups, numpy attrs become Python."""
    tree = xr.DataTree.from_dict({
        "/": xr.Dataset(attrs={"note": "mine", "n": 3}),
        "a": xr.Dataset({"x": ("k", np.arange(3, dtype="int32")),
                         "flag": ("k", np.array([True, False, True])),
                         "label": ("k", np.array(["p", "qq", "r"], dtype=object))},
                        coords={"k": np.array(["u", "v", "w"])}, attrs={"vals": [1.5, 2.5]}),
        "a/b": xr.Dataset({"y": (("k",), np.linspace(0, 1, 3, dtype="float32"))}),
    })
    loaded = ph.load(ph.save(tree, tmp_path / f"t{suffix}"))
    assert loaded.attrs[MARKER] == ph.__version__
    del loaded.attrs[MARKER]
    _assert_same_tree(tree, loaded)


def test_save_refuses_overwrite_and_unknown_suffix(tmp_path):
    tree = xr.DataTree(xr.Dataset({"x": ("i", [1.0])}))
    path = ph.save(tree, tmp_path / "a.nc")
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        ph.save(tree, path)
    ph.save(tree, path, overwrite=True)
    with pytest.raises(ValueError, match=r"unknown suffix '\.h5'"):
        ph.save(tree, tmp_path / "a.h5")
    with pytest.raises(TypeError, match="expected an xarray.DataTree"):
        ph.save(xr.Dataset(), tmp_path / "b.nc")


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_foreign_file_is_refused(tmp_path, suffix):
    path = tmp_path / f"foreign{suffix}"
    tree = xr.DataTree(xr.Dataset({"x": ("i", [1.0, 2.0])}))
    if suffix == ".nc":
        tree.to_netcdf(path, engine="h5netcdf")
    else:
        tree.to_zarr(path, consolidated=False)
    with pytest.raises(ValueError, match="is not a pymc_hier file"):
        ph.load(path)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ph.load(tmp_path / "missing.nc")
    with pytest.raises(ValueError, match="unknown suffix"):
        ph.load(tmp_path / "x.csv")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(ValueError, match="cannot read .* as netcdf"):
        ph.load(junk)


# -- nothing lost, nothing half-written (issue 19) -------------------------------------------
def _tree(value: float = 1.0) -> xr.DataTree:
    rng = np.random.default_rng(0)
    return xr.DataTree.from_dict({
        "/": xr.Dataset(attrs={"note": "mine"}),
        "posterior": xr.Dataset({"x": (("chain", "draw"), value + rng.random((2, 50)))},
                                coords={"chain": [0, 1], "draw": np.arange(50)}),
    })


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_failed_overwrite_keeps_the_old_file(tmp_path, suffix):
    path = ph.save(_tree(1.0), tmp_path / f"good{suffix}")
    bad = _tree(2.0)
    bad.attrs["bad"] = {"nested": 1}
    with pytest.raises(TypeError, match=r"^idata: attr 'bad' of group '/' is a dict"):
        ph.save(bad, path, overwrite=True)
    assert ph.load(path)["posterior"]["x"].values.min() < 2.0  # the old version
    assert _leftovers(tmp_path) == []


def test_failed_new_save_leaves_no_file(tmp_path):
    mixed = _tree()
    mixed["posterior"]["label"] = xr.DataArray(np.array([1, "a"], dtype=object), dims="chain")
    with pytest.raises(TypeError, match=r"^idata: variable 'label' of group '/posterior' holds "
                                        r"int, str objects"):
        ph.save(mixed, tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []


def test_writer_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    """A failure inside the writer (here: after the data went in) leaves nothing behind."""
    from pymc_hier import persistence

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence, "_mark_complete", broken)
    with pytest.raises(OSError, match="No space left"):
        ph.save(_tree(), tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []


def test_zarr_store_with_a_deleted_chunk_is_damaged(tmp_path):
    path = ph.save(_tree(), tmp_path / "a.zarr")
    chunks = [p for p in (path / "posterior" / "x").rglob("*") if p.is_file()
              and p.name != "zarr.json"]
    chunks[0].unlink()
    with pytest.raises(ValueError, match=r"a\.zarr is damaged: /posterior/x differ\(s\) from "
                                         r"the checksum recorded at saving"):
        ph.load(path)


def test_zarr_store_with_a_truncated_chunk_is_a_value_error(tmp_path):
    path = ph.save(_tree(), tmp_path / "a.zarr")
    chunk = next(p for p in (path / "posterior" / "x").rglob("*") if p.is_file()
                 and p.name != "zarr.json")
    chunk.write_bytes(chunk.read_bytes()[:10])
    with pytest.raises(ValueError, match=r"cannot read .*a\.zarr as zarr: damaged, truncated"):
        ph.load(path)


def test_corrupt_and_truncated_netcdf_are_value_errors(tmp_path):
    path = ph.save(_tree(), tmp_path / "a.nc")
    data = bytearray(path.read_bytes())
    for offset in range(2000, len(data), 97):
        data[offset] ^= 0xFF
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(path.read_bytes()[:3000])
    for bad in (corrupt, truncated):
        with pytest.raises(ValueError, match=r"cannot read .* as netcdf: damaged, truncated"):
            ph.load(bad)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_interrupted_file_is_told_apart(tmp_path, suffix, monkeypatch):
    """What a killed writer leaves (the data without the completion mark) says so."""
    from pymc_hier import persistence

    monkeypatch.setattr(persistence, "_mark_complete", lambda *a: None)
    monkeypatch.setattr(persistence, "replace", lambda tmp, path: tmp.rename(path))
    path = ph.save(_tree(), tmp_path / f"a{suffix}")
    with pytest.raises(ValueError, match=r"is incomplete: its writing was interrupted"):
        ph.load(path)


def test_a_damaged_checksum_record_is_reported(tmp_path):
    import h5py

    path = ph.save(_tree(), tmp_path / "a.nc")
    with h5py.File(path, "r+") as f:
        f.attrs["pymc_hier_checksums"] = "{not json"
    with pytest.raises(ValueError, match="is damaged: its checksums cannot be read"):
        ph.load(path)


def test_files_written_by_xarray_still_load(tmp_path):
    """A fit written with xarray directly (no checksums) loads as before."""
    tree = _tree()
    tree.attrs[MARKER] = ph.__version__
    tree.to_netcdf(tmp_path / "plain.nc", engine="h5netcdf")
    assert ph.load(tmp_path / "plain.nc")["posterior"]["x"].shape == (2, 50)


def test_save_never_replaces_what_is_not_its_format(tmp_path):
    folder = tmp_path / "thesis.zarr"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("precious")
    with pytest.raises(ValueError, match="exists but is not a zarr store; not replacing it"):
        ph.save(_tree(), folder, overwrite=True)
    (tmp_path / "dir.nc").mkdir()
    with pytest.raises(ValueError, match="is a folder; not replacing it"):
        ph.save(_tree(), tmp_path / "dir.nc", overwrite=True)
    assert (folder / "chapter1.tex").read_text() == "precious"


def test_leftovers_of_dead_writers_are_removed_not_those_of_live_ones(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".a.nc.pymc-hier-tmp-{dead}-deadbeef.nc"
    stale.write_text("half")
    live = tmp_path / f".a.nc.pymc-hier-tmp-{os.getpid()}-cafecafe.nc"
    live.write_text("mine, still writing")
    ph.save(_tree(), tmp_path / "a.nc")
    assert not stale.exists() and live.exists()


def test_missing_store_points_at_the_version_set_aside(tmp_path):
    aside = tmp_path / ".a.zarr.pymc-hier-old-1-abc.zarr"
    aside.mkdir()
    with pytest.raises(FileNotFoundError, match=r"left the previous version at .*old-1-abc"):
        ph.load(tmp_path / "a.zarr")


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_sigkill_during_save_leaves_the_old_or_the_new_file(tmp_path, suffix):
    """Fault injection: a writer killed at random moments; the target always loads whole."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / f"fit{suffix}"
    ph.save(_tree(0.0), path)
    script = (
        "import sys, numpy as np, xarray as xr, pymc_hier as ph\n"
        "rng = np.random.default_rng(1)\n"
        "for i in range(1, 10**6):\n"
        "    t = xr.DataTree.from_dict({'posterior': xr.Dataset({'x': (('chain', 'draw'),"
        " np.full((4, 20000), float(i)))})})\n"
        f"    ph.save(t, {str(path)!r}, overwrite=True)\n"
        "    print(i, flush=True)\n"
    )
    rng = np.random.default_rng(19)
    for delay in rng.uniform(0.0, 0.6, size=3):
        with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) as proc:
            first = proc.stdout.readline()  # imports done, one save made
            assert first, "the writer did not start"
            time.sleep(float(delay))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        x = ph.load(path)["posterior"]["x"].values  # never damaged, never partial
        assert np.unique(x).size == 1
    ph.save(_tree(), path, overwrite=True)  # and the next save clears what the kills left
    assert _leftovers(tmp_path) == []
