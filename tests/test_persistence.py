"""save / load: lossless netCDF and zarr round-trips, and clear errors for foreign files."""

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
