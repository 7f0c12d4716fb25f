"""DecayData: validation (field and first offending row), conversions, immutability."""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from pymc_hier import DecayData


def make(**changes):
    """Five valid widgets (times in days), with ``changes`` applied."""
    kwargs = {
        "t_measured": [10.0, 11.0, 12.0, 13.0, 14.0],
        "n_measured": [3.0, 2.5, 0.4, 1.0, 0.0],
        "sigma": [0.1, 0.2, 0.1, 0.3, 0.1],
        "day_start": [0.0, 1.0, 2.0, 3.0, 4.0],
        "day_end": [1.0, 2.0, 3.0, 4.0, 5.0],
        "n0_max": 10.0,
        "time_unit": "day",
    }
    kwargs.update(changes)
    return DecayData(**kwargs)


def with_value(field, row, value):
    values = list(make().__getattribute__(field)) if field != "t0" else [0.5, 1.5, 2.5, 3.5, 4.5]
    values[row] = value
    return values


def test_valid_construction():
    d = make(t0=[0.5, 1.5, 2.5, 3.5, 4.5], widget=["a", "b", "c", "d", "e"])
    assert d.n_widgets == len(d) == 5
    assert d.has_t0 and not make().has_t0
    assert d.n0_max == 10.0 and isinstance(d.n0_max, float)
    assert d.t_measured.dtype == np.float64
    assert list(d.widget) == ["a", "b", "c", "d", "e"]
    np.testing.assert_array_equal(make().widget, np.arange(5))
    assert "5 widgets" in repr(d)


# -- every validation error names the field and the first offending row -----------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("field", ["t_measured", "n_measured", "sigma", "day_start", "day_end",
                                   "t0"])
def test_non_finite(field, bad):
    values = with_value(field, 3, bad)
    extra = {} if field == "t0" else {"t0": [0.5, 1.5, 2.5, 3.5, 4.5]}
    with pytest.raises(ValueError, match=rf"^{field}: must be finite; first offending row 3\b"):
        make(**{field: values, **extra})


@pytest.mark.parametrize("bad", [0.0, -0.1])
def test_sigma_not_positive(bad):
    with pytest.raises(ValueError, match=r"^sigma: must be > 0; first offending row 2\b"):
        make(sigma=with_value("sigma", 2, bad))


@pytest.mark.parametrize("field", ["n_measured", "sigma", "day_start", "day_end", "t0"])
def test_mismatched_lengths(field):
    short = [0.5, 1.5, 2.5, 3.5] if field == "t0" else list(getattr(make(), field))[:4]
    with pytest.raises(ValueError, match=rf"^{field}: length 4 does not match t_measured "
                                         r"\(length 5\); mismatched lengths, first offending "
                                         r"row 4\b"):
        make(**{field: short})


def test_mismatched_widget_labels():
    with pytest.raises(ValueError, match=r"^widget: length 6 .* first offending row 5\b"):
        make(widget=list("abcdef"))


def test_measurement_before_the_manufacture_window():
    # Widget 1 was made on day [1, 2) but "measured" at 1.5: before its window closed.
    with pytest.raises(ValueError, match=r"^t_measured: measurement before the end of the "
                                         r"manufacture window; first offending row 1\b"):
        make(t_measured=with_value("t_measured", 1, 1.5))
    with pytest.raises(ValueError, match=r"^t_measured: .* first offending row 4\b"):
        make(t_measured=with_value("t_measured", 4, -3.0))


@pytest.mark.parametrize("end", [2.0, 1.5])
def test_window_end_before_start(end):
    with pytest.raises(ValueError, match=r"^day_end: window end must be after its start; "
                                         r"first offending row 2\b"):
        make(day_end=with_value("day_end", 2, end))


def test_t0_outside_its_window():
    with pytest.raises(ValueError, match=r"^t0: manufacture time outside its window; "
                                         r"first offending row 3\b"):
        make(t0=with_value("t0", 3, 4.5))


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf, "ten", True])
def test_n0_max_not_positive(bad):
    with pytest.raises(ValueError, match=r"^n0_max: must be"):
        make(n0_max=bad)


def test_empty_data():
    empty = {k: [] for k in ("t_measured", "n_measured", "sigma", "day_start", "day_end")}
    with pytest.raises(ValueError, match=r"^t_measured: empty data, no rows "
                                         r"\(first offending row 0 is missing\)"):
        make(**empty)


@pytest.mark.parametrize("field", ["t_measured", "n_measured", "sigma", "day_start", "day_end"])
def test_non_numeric_values(field):
    values = np.array(with_value(field, 2, 0.0), dtype=object)
    values[2] = "oops"
    with pytest.raises(ValueError, match=rf"^{field}: non-numeric value 'oops'; "
                                         r"first offending row 2\b"):
        make(**{field: values})


@pytest.mark.parametrize("bad", [None, True, 1 + 2j])
def test_non_numeric_objects(bad):
    values = np.array([0.1, 0.2, 0.1, 0.3, 0.1], dtype=object)
    values[1] = bad
    with pytest.raises(ValueError, match=r"^sigma: non-numeric value .*first offending row 1\b"):
        make(sigma=values)


@pytest.mark.parametrize(
    ("values", "what"),
    [([True] * 5, "booleans"), (np.ones(5, dtype=complex), "complex numbers"),
     (np.arange(5).astype("datetime64[D]"), "dates")],
)
def test_non_numeric_columns(values, what):
    with pytest.raises(ValueError, match=rf"^n_measured: non-numeric column of {what}; "
                                         r"first offending row 0"):
        make(n_measured=values)


def test_numeric_text_is_accepted():
    # As read from a CSV with a stray string column: text that parses as a number is fine.
    d = make(sigma=np.array(["0.1", "0.2", "0.1", "0.3", "0.1"]))
    np.testing.assert_array_equal(d.sigma, [0.1, 0.2, 0.1, 0.3, 0.1])


def test_duplicate_widget_labels():
    with pytest.raises(ValueError, match=r"^widget: duplicate name 'b'; first offending row 3 "
                                         r"\(same as row 1\)"):
        make(widget=["a", "b", "c", "b", "e"])


@pytest.mark.parametrize("labels, message", [
    ([1, "a", 2.5, "b", 3], r"^widget: mixed label types \(int and str\); first offending row 1"),
    ([np.nan, np.nan, 1.0, 2.0, 3.0], r"^widget: label nan is not finite; first offending row 0"),
    ([True, False, 2, 3, 4], r"^widget: label True is neither a number nor a string"),
    ([None, 1, 2, 3, 4], r"^widget: label None is neither a number nor a string"),
])
def test_widget_labels_of_one_kind(labels, message):
    """Mixed labels would be silently stringified by NumPy (and cannot be saved); NaN
    labels are never equal to each other, so duplicates would slip through."""
    with pytest.raises(ValueError, match=message):
        make(widget=labels)


def test_widget_labels_keep_their_kind():
    assert make(widget=[5, 6, 7, 8, 9]).widget.dtype.kind == "i"
    assert make(widget=[0.5, 1, 2, 3, 4]).widget.dtype.kind == "f"
    assert make(widget=np.array(list("abcde"), dtype=object)).widget.tolist() == list("abcde")


def test_unreadable_csv_names_the_file(tmp_path):
    path = tmp_path / "widgets.csv"
    path.write_text('t_measured,n_measured\n1,"2\n')
    with pytest.raises(ValueError, match=r"^path: .*widgets.csv is not a readable CSV file "
                                         r"\(Error tokenizing data"):
        DecayData.from_csv(path)
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(ValueError, match=r"^path: .*widgets.csv is not a readable CSV file "
                                         r"\('utf-8' codec"):
        DecayData.from_csv(path)


def test_time_unit_must_be_text():
    with pytest.raises(ValueError, match=r"^time_unit: "):
        make(time_unit="")


def test_not_two_dimensional():
    with pytest.raises(ValueError, match=r"^t_measured: expected a 1-d array"):
        make(t_measured=[[10.0, 11.0, 12.0, 13.0, 14.0]])


@pytest.mark.parametrize(
    ("truth", "message"),
    [({"alpha": -1.0}, r"truth\['alpha'\]: must be finite and >= 0"),
     ({"alpha": [1.0, 2.0]}, r"truth\['alpha'\]: expected one number"),
     ({"n0": [1.0, 2.0]}, r"truth\['n0'\]: length 2 does not match .*first offending row 2"),
     ({"t0": [0.5, 1.5, np.nan, 3.5, 4.5]}, r"truth\['t0'\]: must be finite; first offending "
                                             r"row 2"),
     ({"beta": 1.0}, r"truth: unknown key 'beta'")],
)
def test_bad_truth(truth, message):
    with pytest.raises(ValueError, match=rf"^{message}"):
        make(truth=truth)


# -- conversions ---------------------------------------------------------------------------
@pytest.fixture(params=["no_t0", "t0", "truth"])
def data(request, lecture_data):
    if request.param == "no_t0":
        return make(widget=["w1", "w2", "w3", "w4", "w5"])
    if request.param == "t0":
        return make(t0=[0.5, 1.5, 2.5, 3.5, 4.5])
    return lecture_data


def test_dataframe_round_trip(data):
    df = data.to_dataframe()
    assert df.index.name == "widget" and len(df) == data.n_widgets
    assert ("t0" in df.columns) == data.has_t0
    assert ("true_n0" in df.columns) == (data.truth is not None)
    back = DecayData.from_dataframe(df)
    assert back == data
    assert back.time_unit == data.time_unit and back.n0_max == data.n0_max
    np.testing.assert_array_equal(back.widget, data.widget)


def test_csv_round_trip(data, tmp_path):
    path = tmp_path / "widgets.csv"
    data.to_csv(path)
    back = DecayData.from_csv(path)
    assert back == data
    for name in ("t_measured", "n_measured", "sigma", "day_start", "day_end"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    if data.truth is not None:
        assert back.truth["alpha"] == data.truth["alpha"]
        np.testing.assert_array_equal(back.truth["n0"], data.truth["n0"])


def test_dataset_round_trip(data):
    ds = data.to_dataset()
    assert isinstance(ds, xr.Dataset)
    assert ds.sizes == {"widget": data.n_widgets}
    np.testing.assert_array_equal(ds["widget"].values, data.widget)
    for name in ("t_measured", "day_start", "day_end"):
        assert ds[name].dims == ("widget",)
        assert ds[name].attrs["units"] == data.time_unit
    assert "units" not in ds["n_measured"].attrs
    assert ds.attrs["n0_max"] == data.n0_max and ds.attrs["time_unit"] == data.time_unit
    assert ("t0" in ds) == data.has_t0
    if data.truth is not None:
        assert ds.attrs["true_alpha"] == data.truth["alpha"]
        assert ds.attrs["true_alpha_units"] == f"1/{data.time_unit}"
        np.testing.assert_array_equal(ds["true_n0"].values, data.truth["n0"])
    back = DecayData.from_dataset(ds)
    assert back == data


def test_dataset_survives_netcdf(data, tmp_path):
    path = tmp_path / "widgets.nc"
    data.to_dataset().to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert DecayData.from_dataset(ds.load()) == data


def test_from_dataframe_keywords_and_widget_column():
    df = make().to_dataframe().drop(columns=["n0_max", "time_unit"]).reset_index()
    d = DecayData.from_dataframe(df, n0_max=4.0, time_unit="h")
    assert d.n0_max == 4.0 and d.time_unit == "h"
    np.testing.assert_array_equal(d.widget, np.arange(5))


def test_from_dataframe_needs_n0_max():
    df = make().to_dataframe().drop(columns=["n0_max"])
    with pytest.raises(ValueError, match=r"^n0_max: missing column in DataFrame"):
        DecayData.from_dataframe(df)


def test_from_dataframe_n0_max_must_be_constant():
    df = make().to_dataframe()
    df.loc[2, "n0_max"] = 9.0
    with pytest.raises(ValueError, match=r"^n0_max: column must hold one value"):
        DecayData.from_dataframe(df)


@pytest.mark.parametrize("missing", ["t_measured", "sigma", "day_end"])
def test_csv_with_missing_column(tmp_path, missing):
    path = tmp_path / "broken.csv"
    make().to_dataframe().drop(columns=[missing]).to_csv(path)
    with pytest.raises(ValueError, match=rf"^{missing}: missing column in CSV file .*broken.csv"):
        DecayData.from_csv(path)


def test_csv_with_bad_cell(tmp_path):
    path = tmp_path / "bad.csv"
    df = make().to_dataframe()
    df["sigma"] = df["sigma"].astype(object)
    df.loc[3, "sigma"] = "n/a?"
    df.to_csv(path)
    with pytest.raises(ValueError, match=r"^sigma: non-numeric value 'n/a\?'; first offending "
                                         r"row 3"):
        DecayData.from_csv(path)


def test_csv_with_empty_cell(tmp_path):
    path = tmp_path / "gap.csv"
    df = make().to_dataframe()
    df.loc[1, "n_measured"] = np.nan
    df.to_csv(path)
    with pytest.raises(ValueError, match=r"^n_measured: must be finite; first offending row 1"):
        DecayData.from_csv(path)


def test_dataset_missing_variable():
    ds = make().to_dataset().drop_vars("n_measured")
    with pytest.raises(ValueError, match=r"^n_measured: missing column in Dataset"):
        DecayData.from_dataset(ds)


# -- immutability, equality, pickling -------------------------------------------------------
def test_immutable(lecture_data):
    d = lecture_data
    for name in ("t_measured", "n_measured", "sigma", "day_start", "day_end", "t0", "widget"):
        arr = getattr(d, name)
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.n0_max = 5.0
    with pytest.raises(TypeError):
        d.truth["alpha"] = 0.0


def test_input_arrays_are_copied():
    t = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    d = make(t_measured=t)
    t[0] = 99.0
    assert d.t_measured[0] == 10.0


def test_equality_and_hash():
    assert make() == make()
    assert make() != make(n0_max=9.0)
    assert make() != make(t0=[0.5, 1.5, 2.5, 3.5, 4.5])
    assert make().fingerprint() == make().fingerprint()
    assert make().fingerprint() != make(n_measured=with_value("n_measured", 0, 3.5)).fingerprint()
    with pytest.raises(TypeError):
        hash(make())


def test_pickle_keeps_values_and_read_only(lecture_data):
    back = pickle.loads(pickle.dumps(lecture_data))
    assert back == lecture_data
    assert not back.t_measured.flags.writeable
    assert back.truth["alpha"] == lecture_data.truth["alpha"]


def test_without_t0(lecture_data):
    d = lecture_data.without_t0()
    assert not d.has_t0 and lecture_data.has_t0
    np.testing.assert_array_equal(d.day_start, lecture_data.day_start)
    assert isinstance(d.to_dataframe(), pd.DataFrame)
