"""Hostile arguments and arrays: every bad value gets our exception (subclassing the one
ETSpy code catches), a message naming the argument and the value, and no result."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_fixtures import TILTS, phantom_stack

import etspy_widgets as etw
from etspy_widgets.engine.errors import (
    ArgumentTypeError,
    ImplausibleTiltsError,
    InsufficientMemoryError,
    InvalidArgumentError,
    InvalidDataError,
    InvalidIndexError,
    InvalidTiltsError,
    MismatchedTiltError,
    NonFiniteResultError,
    TomographyError,
    UnknownKeywordError,
    UnknownMethodError,
)
from etspy_widgets.engine.validate import check_finite_result


@pytest.fixture(scope="module")
def stack():
    return phantom_stack((32, 32))


def _refused(call, cls, builtin, *words):
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, builtin) and isinstance(info.value, TomographyError)
    text = str(info.value)
    for word in words:
        # a quoted name may be quoted either way (ETSpy's messages use double quotes)
        alt = word.replace("'", '"') if word.startswith("'") and word.endswith("'") else word
        assert word in text or alt in text, (word, text)
    return info.value


# -- slicing -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "index", "words"), [
    ("inav", 999, ("inav[999]", "outside", "15")),
    ("inav", -999, ("inav[-999]", "outside")),
    ("isig", (slice(500, 600), slice(None)), ("isig[500:600, :]", "outside", "32")),
    ("isig", (slice(None), slice(40, 50)), ("isig[:, 40:50]", "outside")),
    ("isig", (slice(20, 5), slice(None)), ("isig[20:5, :]", "selects nothing")),
    ("isig", (slice(None), slice(7, 7)), ("selects nothing",)),
    ("inav", slice(9, 3), ("inav[9:3]", "selects nothing")),
    ("inav", slice(100, 200), ("inav[100:200]", "outside")),
])
def test_slicing_outside_or_empty(stack, kind, index, words):
    _refused(lambda: getattr(stack, kind)[index], InvalidIndexError, IndexError, *words)


@pytest.mark.parametrize("index", [0, -1, slice(2, 5)])
def test_good_slices_still_work(stack, index):
    assert stack.inav[index].data.size > 0


# -- registration ----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "kwargs", "cls", "builtin", "words"), [
    ("COM", {"slices": [999]}, InvalidIndexError, IndexError, ("slices[0]=999", "0..31")),
    ("COM", {"slices": [3, -100]}, InvalidIndexError, IndexError, ("slices[1]=-100",)),
    ("COM", {"slices": ["a"]}, InvalidIndexError, IndexError, ("slices[0]", "'a'")),
    ("COM-CL", {"com_ref_index": 99}, InvalidIndexError, IndexError, ("com_ref_index",)),
    ("PM", {"levels": 0}, InvalidArgumentError, ValueError, ("levels", "0")),
    ("PM", {"levels": (4, 0)}, InvalidArgumentError, ValueError, ("levels[1]",)),
    ("PM", {"levels": ()}, InvalidArgumentError, ValueError, ("levels",)),
    ("PM", {"levels": "4"}, InvalidArgumentError, ValueError, ("levels",)),
    ("PM", {"iterations": "two"}, InvalidArgumentError, ValueError, ("iterations", "'two'")),
    ("PM", {"iterations": 0}, InvalidArgumentError, ValueError, ("iterations",)),
    ("PC", {"upsample_factor": 0}, InvalidArgumentError, ValueError, ("upsample_factor",)),
    ("PC", {"upsample_factor": 2.5}, InvalidArgumentError, ValueError, ("upsample_factor",)),
    ("PC", {"upsample_facter": 2}, UnknownKeywordError, TypeError,
     ("upsample_facter", "Did you mean 'upsample_factor'")),
    ("PC", {"lowpas": 0.1}, UnknownKeywordError, TypeError, ("Did you mean 'lowpass'",)),
    ("COM", {"nslice": 5}, UnknownKeywordError, TypeError, ("Did you mean 'nslices'",)),
    ("COM", {"fitt": "sinusoid"}, UnknownKeywordError, TypeError, ("Did you mean 'fit'",)),
    ("PM", {"level": (2, 1)}, UnknownKeywordError, TypeError, ("Did you mean 'levels'",)),
    ("StackReg", {"bogus": 1}, UnknownKeywordError, TypeError, ("'bogus'",)),
    ("PC", {"cl_resolution": 0.05}, UnknownKeywordError, TypeError, ("'cl_resolution'",)),
    ("PC", {"nslices": 20}, UnknownKeywordError, TypeError, ("'nslices'",)),
    ("XYZ", {}, UnknownMethodError, ValueError, ("'XYZ'", "PC")),
    (3, {}, UnknownMethodError, ValueError, ("3",)),
])
def test_stack_register_bad_arguments(stack, method, kwargs, cls, builtin, words):  # noqa: PLR0917
    _refused(lambda: stack.stack_register(method, **kwargs), cls, builtin, *words)


@pytest.mark.parametrize(("method", "kwargs"), [
    ("COM", {"xrange": (0, 10), "p": 20}),          # ETSpy's tuning keywords: accepted
    ("COM-CL", {"cl_resolution": 0.05, "cl_div_factor": 8}),
])
def test_etspy_tuning_keywords_stay_accepted(stack, method, kwargs):
    out = stack.stack_register(method, **kwargs)
    assert out.data.shape == stack.data.shape


# -- tilt axis -------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "kwargs", "cls", "words"), [
    ("CoM", {"nslice": 5}, UnknownKeywordError, ("Did you mean 'nslices'",)),
    ("MaxImage", {"limitt": 3}, UnknownKeywordError, ("Did you mean 'limit'",)),
    ("MaxImage", {"dleta": 0.1}, UnknownKeywordError, ("Did you mean 'delta'",)),
    ("CoM", {"thresh": 0.5}, UnknownKeywordError, ("'thresh'",)),
    ("CoM", {"slices": [999]}, InvalidIndexError, ("slices[0]=999",)),
    ("CoM", {"nslices": 0}, InvalidArgumentError, ("nslices",)),
    ("CoM", {"nslices": "ten"}, InvalidArgumentError, ("nslices", "'ten'")),
    ("MaxImage", {"limit": "abc"}, InvalidArgumentError, ("limit", "'abc'")),
    ("MaxImage", {"delta": float("nan")}, InvalidArgumentError, ("delta", "nan")),
    ("MaxImage", {"limit": -3}, InvalidArgumentError, ("limit",)),
    ("Hough", {}, UnknownMethodError, ("'Hough'",)),
])
def test_tilt_align_bad_arguments(stack, method, kwargs, cls, words):
    builtin = TypeError if cls is UnknownKeywordError else (
        IndexError if cls is InvalidIndexError else ValueError)
    _refused(lambda: stack.tilt_align(method, **kwargs), cls, builtin, *words)


@pytest.mark.parametrize("other", ["not a stack", None, 42, [1, 2, 3],
                                   np.zeros((15, 32, 32))])
def test_align_other_needs_a_stack(stack, other):
    aligned = stack.stack_register("COM")
    _refused(lambda: aligned.align_other(other), ArgumentTypeError, TypeError, "other",
             "TomoStack")


# -- reconstruction --------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "cls", "builtin", "words"), [
    ({"thickness": -5}, InvalidArgumentError, ValueError, ("thickness", "-5")),
    ({"thickness": 0}, InvalidArgumentError, ValueError, ("thickness",)),
    ({"thickness": "64"}, InvalidArgumentError, ValueError, ("thickness", "'64'")),
    ({"thickness": 10**7}, InsufficientMemoryError, MemoryError,
     ("GiB", "nothing was allocated", "thickness")),
    ({"thresh": "abc"}, InvalidArgumentError, ValueError, ("thresh", "'abc'")),
    ({"thresh": float("nan")}, InvalidArgumentError, ValueError, ("thresh", "nan")),
    ({"thresh": float("inf")}, InvalidArgumentError, ValueError, ("thresh", "inf")),
    ({"ncores": "two"}, InvalidArgumentError, ValueError, ("ncores", "'two'")),
    ({"ncores": 0}, InvalidArgumentError, ValueError, ("ncores",)),
    ({"ncores": 1.5}, InvalidArgumentError, ValueError, ("ncores",)),
    ({"chunk_size": -1}, InvalidArgumentError, ValueError, ("chunk_size",)),
    ({"method": "SIRT", "iterations": "5"}, InvalidDataError, ValueError, ("iterations",)),
    ({"method": "SIRT", "iterations": -1}, InvalidDataError, ValueError, ("iterations",)),
    ({"method": "ART"}, UnknownMethodError, ValueError, ("'ART'", "FBP")),
    ({"sino_filter": "bogus"}, UnknownMethodError, ValueError, ("'bogus'",)),
    ({"method": "DART"}, InvalidDataError, ValueError, ("gray_levels",)),
])
def test_reconstruct_bad_arguments(stack, kwargs, cls, builtin, words):
    _refused(lambda: stack.reconstruct(show_progressbar=False, **kwargs), cls, builtin, *words)


# -- tilts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("tilts", "cls", "words"), [
    ("abc", InvalidTiltsError, ("tilts", "'abc'")),
    (["a"] * 15, InvalidTiltsError, ("tilts",)),
    ([object()] * 15, InvalidTiltsError, ("tilts",)),
    (np.arange(14.0), MismatchedTiltError, ("14", "15")),
    (np.arange(16.0), MismatchedTiltError, ("16", "15")),
    (np.full(15, np.nan), InvalidTiltsError, ("NaN",)),
    (np.full(15, np.inf), InvalidTiltsError, ("NaN or infinite",)),
    (np.zeros((15, 2)), InvalidTiltsError, ("1D",)),
])
def test_bad_tilts_in_the_constructor(stack, tilts, cls, words):
    _refused(lambda: etw.TomoStack(stack.data, tilts=tilts), cls, ValueError, *words)


@pytest.mark.parametrize(("tilts", "words"), [
    (np.radians(TILTS), ("radians", "np.degrees")),
    (np.linspace(-1.5, 1.5, 15), ("radians",)),
    (np.full(15, 30.0), ("All 15 tilts are 30",)),
    (np.linspace(-1000, 1000, 15), ("span 2000", "full turn")),
    (np.linspace(0, 361, 15), ("span 361",)),
])
def test_implausible_tilts_are_refused_by_reconstruct(stack, tilts, words):
    bad = etw.TomoStack(stack.data, tilts=tilts)
    err = _refused(lambda: bad.reconstruct(show_progressbar=False), ImplausibleTiltsError,
                   ValueError, *words)
    assert isinstance(err, InvalidTiltsError)


@pytest.mark.parametrize("tilts", [TILTS, np.linspace(-2, 2, 15), np.linspace(0, 180, 15)])
def test_plausible_tilts_reconstruct(stack, tilts):
    rec = etw.TomoStack(stack.data, tilts=tilts).reconstruct(show_progressbar=False,
                                                             thickness=16)
    assert np.isfinite(rec.data).all()


# -- arrays ----------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e300, 1e35, -1e200])
def test_huge_values_are_refused_before_a_nan_volume(stack, scale):
    big = etw.TomoStack(stack.data.astype(np.float64) * scale, tilts=TILTS)
    _refused(lambda: big.reconstruct(show_progressbar=False), InvalidDataError, ValueError,
             "Scale the data")


def test_large_but_safe_values_reconstruct(stack):
    big = etw.TomoStack(stack.data.astype(np.float64) * 1e20, tilts=TILTS)
    rec = big.reconstruct(show_progressbar=False, thickness=16)
    assert np.isfinite(rec.data).all() and np.abs(rec.data).max() > 1e15


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_data_refused_at_load(stack, bad):
    data = stack.data.copy()
    data[3, 4, 5] = bad
    _refused(lambda: etw.load(data, tilts=TILTS), InvalidDataError, ValueError,
             "NaN or infinite", "[3, 4, 5]")


@pytest.mark.parametrize("shape", [(2, 3, 32, 32, 1), (2, 2, 2, 2, 2, 2)])
def test_wrong_dimensions_refused(shape):
    with pytest.raises(InvalidDataError, match="n_tilts, ny, nx"):
        etw.TomoStack(np.zeros(shape))


@pytest.mark.parametrize("volume", [np.array([1.0, np.nan]), np.array([np.inf])])
def test_non_finite_results_are_refused(volume):
    _refused(lambda: check_finite_result(volume, "SIRT reconstruction"), NonFiniteResultError,
             ValueError, "SIRT reconstruction", "not returned")


@pytest.mark.parametrize("bad", ["abc", None, [1, 2], {"a": 1}])
def test_load_of_a_non_path(bad):
    with pytest.raises((TypeError, ValueError, OSError)) as info:
        etw.load(bad)
    assert "load" in str(info.value).lower() or "file" in str(info.value).lower()


def test_a_lazy_volume_larger_than_memory_is_not_refused(tmp_path, stack):
    """Lazily, the volume is written block by block: the memory guard does not apply."""
    lazy = etw.load(stack.save(tmp_path / "s.hspy"), lazy=True)
    rec = lazy.reconstruct(thickness=10**7)
    assert rec.data.shape == (32, 10**7, 32) and not isinstance(rec.data, np.ndarray)
    with pytest.raises(InvalidArgumentError, match="thresh"):
        lazy.reconstruct(thresh="abc")


@pytest.mark.parametrize(("call", "cls", "builtin", "words"), [
    (lambda s: s.set_tilts("a", 2), InvalidArgumentError, ValueError, ("start", "'a'")),
    (lambda s: s.set_tilts(-70, float("nan")), InvalidArgumentError, ValueError,
     ("increment", "nan")),
    (lambda s: s.apply_shifts("abc"), InvalidTiltsError, ValueError, ("shifts", "pixels")),
    (lambda s: s.apply_shifts(np.zeros((3, 2))), InvalidDataError, ValueError, ("3 shifts",)),
    (lambda s: s.trans_stack(angle="x"), InvalidArgumentError, ValueError, ("angle", "'x'")),
    (lambda s: s.trans_stack(xshift=float("inf")), InvalidArgumentError, ValueError,
     ("xshift",)),
    (lambda s: s.trans_stack(interpolation="sinc"), UnknownMethodError, ValueError,
     ("'sinc'",)),
    (lambda s: s.test_correlation(images=[0, 999]), InvalidIndexError, IndexError,
     ("images[1]=999",)),
    (lambda s: s.filter("bogus"), UnknownMethodError, ValueError, ("'bogus'",)),
    (lambda s: s.test_align(thickness=-1), InvalidArgumentError, ValueError, ("thickness", "-1")),
    (lambda s: s.reconstruct(thickness=8, show_progressbar=False).forward_project(
        tilts="abc"), InvalidTiltsError, ValueError, ("tilts", "'abc'")),
])
def test_other_verbs_bad_arguments(stack, call, cls, builtin, words):
    _refused(lambda: call(stack), cls, builtin, *words)
