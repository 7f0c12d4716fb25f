"""SchoolsData and EIGHT_SCHOOLS: the BDA table, validation, conversions, immutability."""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pymc_hier import EIGHT_SCHOOLS, SchoolsData

# Bayesian Data Analysis (3rd ed.), table 5.2.
BDA_Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
BDA_SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def test_eight_schools_is_the_bda_table():
    np.testing.assert_array_equal(EIGHT_SCHOOLS.y, BDA_Y)
    np.testing.assert_array_equal(EIGHT_SCHOOLS.sigma, BDA_SIGMA)
    assert EIGHT_SCHOOLS.y.dtype == EIGHT_SCHOOLS.sigma.dtype == np.float64
    assert EIGHT_SCHOOLS.names == ("A", "B", "C", "D", "E", "F", "G", "H")
    assert EIGHT_SCHOOLS.dim == "school"
    assert EIGHT_SCHOOLS.n_groups == len(EIGHT_SCHOOLS) == 8


def test_any_number_of_groups_and_default_names():
    one = SchoolsData(y=[1.5], sigma=[2.0])
    assert one.names == ("0",) and one.n_groups == 1
    many = SchoolsData(y=np.arange(30.0), sigma=np.ones(30), dim="hospital")
    assert many.names[-1] == "29" and many.dim == "hospital"
    assert "30 groups" in repr(many)


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("field", ["y", "sigma"])
def test_non_finite(field, bad):
    values = {"y": list(BDA_Y), "sigma": list(BDA_SIGMA)}
    values[field][5] = bad
    with pytest.raises(ValueError, match=rf"^{field}: must be finite; first offending row 5\b"):
        SchoolsData(**values)


@pytest.mark.parametrize("bad", [0.0, -10.0])
def test_sigma_not_positive(bad):
    sigma = list(BDA_SIGMA)
    sigma[6] = bad
    with pytest.raises(ValueError, match=r"^sigma: must be > 0; first offending row 6\b"):
        SchoolsData(y=BDA_Y, sigma=sigma)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match=r"^sigma: length 7 does not match y \(length 8\); "
                                         r"mismatched lengths, first offending row 7"):
        SchoolsData(y=BDA_Y, sigma=BDA_SIGMA[:7])
    with pytest.raises(ValueError, match=r"^names: length 9 does not match y .*row 8"):
        SchoolsData(y=BDA_Y, sigma=BDA_SIGMA, names=list("ABCDEFGHI"))


def test_empty_data():
    with pytest.raises(ValueError, match=r"^y: empty data, no rows \(first offending row 0"):
        SchoolsData(y=[], sigma=[])


def test_non_numeric():
    y = np.array(BDA_Y, dtype=object)
    y[4] = "minus one"
    with pytest.raises(ValueError, match=r"^y: non-numeric value 'minus one'; first offending "
                                         r"row 4"):
        SchoolsData(y=y, sigma=BDA_SIGMA)
    with pytest.raises(ValueError, match=r"^sigma: non-numeric column of booleans"):
        SchoolsData(y=[1.0, 2.0], sigma=[True, True])


def test_duplicate_names():
    with pytest.raises(ValueError, match=r"^names: duplicate name 'C'; first offending row 5 "
                                         r"\(same as row 2\)"):
        SchoolsData(y=BDA_Y, sigma=BDA_SIGMA, names=list("ABCDECGH"))


@pytest.mark.parametrize("dim", ["", "two words", 3])
def test_bad_dim(dim):
    with pytest.raises(ValueError, match=r"^dim: must be an identifier"):
        SchoolsData(y=[1.0], sigma=[1.0], dim=dim)


@pytest.mark.parametrize("dim", ["chain", "draw", "mu", "theta", "y"])
def test_reserved_dim_is_refused_at_construction(dim):
    with pytest.raises(ValueError, match=rf"^dim: '{dim}' is reserved"):
        SchoolsData(y=[1.0, 2.0], sigma=[1.0, 1.0], dim=dim)


@pytest.mark.parametrize("y, sigma, message", [
    ([1e308, -1e308, 0.0], [1.0, 1.0, 1.0], r"^y: 1e\+308 is too large for double precision"),
    ([1.0, 2.0], [1e-300, 1.0], r"^sigma: 1e-300 is too extreme for double precision"),
    ([1e100, 0.0], [1.0, 1e-100], r"^sigma: 1e-100 is too small for the spread of y"),
])
def test_values_beyond_double_precision_blame_the_data(y, sigma, message):
    """Such data made every posterior computation overflow, and the error blamed
    priors['tau']; the data are named instead."""
    with pytest.raises(ValueError, match=message):
        SchoolsData(y=y, sigma=sigma)


@pytest.mark.parametrize("missing", ["y", "sigma"])
def test_csv_with_missing_column(tmp_path, missing):
    path = tmp_path / "schools.csv"
    EIGHT_SCHOOLS.to_dataframe().drop(columns=[missing]).to_csv(path)
    with pytest.raises(ValueError, match=rf"^{missing}: missing column in CSV file .*schools.csv"):
        SchoolsData.from_csv(path)


def test_csv_with_bad_cell(tmp_path):
    path = tmp_path / "schools.csv"
    path.write_text("school,y,sigma\nA,28,15\nB,8,ten\nC,-3,16\n")
    with pytest.raises(ValueError, match=r"^sigma: non-numeric value 'ten'; first offending "
                                         r"row 1"):
        SchoolsData.from_csv(path)


def test_csv_with_duplicate_names(tmp_path):
    path = tmp_path / "schools.csv"
    path.write_text("school,y,sigma\nA,28,15\nB,8,10\nA,-3,16\n")
    with pytest.raises(ValueError, match=r"^names: duplicate name 'A'; first offending row 2"):
        SchoolsData.from_csv(path)


# -- conversions -----------------------------------------------------------------------------
@pytest.fixture(params=["eight", "numbered", "hospitals"])
def groups(request):
    if request.param == "eight":
        return EIGHT_SCHOOLS
    if request.param == "numbered":
        return SchoolsData(y=[0.25, -1.5, 3.0], sigma=[1.0, 0.5, 2.0])
    return SchoolsData(y=[0.1, 0.2], sigma=[0.3, 0.4], names=["St Mary's", "0042"],
                       dim="hospital")


def test_dataframe_round_trip(groups):
    df = groups.to_dataframe()
    assert list(df.columns) == ["y", "sigma"]
    assert df.index.name == groups.dim and tuple(df.index) == groups.names
    assert SchoolsData.from_dataframe(df) == groups


def test_dataframe_with_name_column():
    df = pd.DataFrame({"name": ["x", "y"], "y": [1.0, 2.0], "sigma": [1.0, 1.0]})
    data = SchoolsData.from_dataframe(df, dim="site")
    assert data.names == ("x", "y") and data.dim == "site"


def test_csv_round_trip(groups, tmp_path):
    path = tmp_path / "groups.csv"
    groups.to_csv(path)
    back = SchoolsData.from_csv(path)
    assert back == groups
    np.testing.assert_array_equal(back.y, groups.y)
    assert back.names == groups.names  # "0042" stays text


def test_dataset_round_trip(groups):
    ds = groups.to_dataset()
    assert isinstance(ds, xr.Dataset)
    assert ds.sizes == {groups.dim: groups.n_groups}
    assert ds["y"].dims == (groups.dim,)
    assert tuple(ds[groups.dim].values) == groups.names
    np.testing.assert_array_equal(ds["sigma"].values, groups.sigma)
    assert SchoolsData.from_dataset(ds) == groups


def test_eight_schools_dataset_values():
    ds = EIGHT_SCHOOLS.to_dataset()
    assert ds["y"].sel(school="A").item() == 28.0
    assert ds["sigma"].sel(school="H").item() == 18.0


def test_dataset_missing_variable():
    with pytest.raises(ValueError, match=r"^sigma: missing column in Dataset"):
        SchoolsData.from_dataset(EIGHT_SCHOOLS.to_dataset().drop_vars("sigma"))


# -- immutability, equality, pickling -----------------------------------------------------------
def test_immutable():
    assert not EIGHT_SCHOOLS.y.flags.writeable
    assert not EIGHT_SCHOOLS.sigma.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        EIGHT_SCHOOLS.y[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        EIGHT_SCHOOLS.dim = "group"
    assert isinstance(EIGHT_SCHOOLS.names, tuple)


def test_equality():
    assert SchoolsData(y=BDA_Y, sigma=BDA_SIGMA, names=list("ABCDEFGH")) == EIGHT_SCHOOLS
    assert SchoolsData(y=BDA_Y, sigma=BDA_SIGMA) != EIGHT_SCHOOLS
    assert (SchoolsData(y=BDA_Y, sigma=BDA_SIGMA, names=list("ABCDEFGH"), dim="g")
            != EIGHT_SCHOOLS)
    assert EIGHT_SCHOOLS.fingerprint() == SchoolsData.from_dataset(
        EIGHT_SCHOOLS.to_dataset()).fingerprint()
    with pytest.raises(TypeError):
        hash(EIGHT_SCHOOLS)


def test_pickle():
    back = pickle.loads(pickle.dumps(EIGHT_SCHOOLS))
    assert back == EIGHT_SCHOOLS
    assert not back.y.flags.writeable
