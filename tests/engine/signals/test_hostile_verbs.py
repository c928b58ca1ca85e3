"""Hostile arguments to the remaining verbs (issue 13): ``remove_projections``,
``extract_sinogram``, ``manual_align``, ``stack_register(start=...)``, ``filter``, ``rebin``
and the others a fuzz of every public verb found leaking a library's error. Each case
asserts our exception class (subclassing the built-in ETSpy code catches), that the message
names the argument and the value, and that the stack given is left as it was.

Also: a lazy reconstruction refuses a non-finite block as it is computed, once.
"""

from __future__ import annotations

import numpy as np
import pytest
from hostile_fixtures import listing, phantom_stack

import etspy_widgets as etw
from etspy_widgets.engine.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    InvalidDataError,
    InvalidIndexError,
    InvalidTiltsError,
    NonFiniteResultError,
    NotATiltSeriesError,
    OutputPathError,
    TomographyError,
    UnknownMethodError,
)
from etspy_widgets.engine.recon import lazy


@pytest.fixture(scope="module")
def stack():
    return phantom_stack((32, 32))


@pytest.fixture(scope="module")
def rec(stack):
    return stack.reconstruct(thickness=16, show_progressbar=False)


def _refused(stack, call, cls, builtin, *words):
    before, history = stack.data.copy(), list(stack.history)
    per_projection = hasattr(stack, "tilt_values")
    tilts = stack.tilt_values if per_projection else np.zeros(1)
    shifts = stack.shift_values if per_projection else np.zeros(1)
    with pytest.raises(cls) as info:
        call(stack)
    err = info.value
    assert isinstance(err, builtin) and isinstance(err, TomographyError), type(err).__mro__
    text = str(err)
    for word in words:
        assert word in text, (word, text)
    # nothing changed on the stack given
    np.testing.assert_array_equal(stack.data, before)
    if per_projection:
        np.testing.assert_array_equal(stack.tilt_values, tilts)
        np.testing.assert_array_equal(stack.shift_values, shifts)
    assert stack.history == history
    return err


CASES = [
    # remove_projections
    ("rp-none", lambda s: s.remove_projections(None), InvalidArgumentError, ValueError,
     ("No projections provided", "remove_projections([0, 5])")),
    ("rp-empty", lambda s: s.remove_projections([]), InvalidArgumentError, ValueError,
     ("No projections provided",)),
    ("rp-big", lambda s: s.remove_projections([0, 99]), InvalidIndexError, IndexError,
     ("projections[1]=99", "15 projections")),
    ("rp-neg", lambda s: s.remove_projections(-16), InvalidIndexError, IndexError,
     ("projections[0]=-16", "-15..-1")),
    ("rp-float", lambda s: s.remove_projections([1.5]), InvalidIndexError, IndexError,
     ("projections[0]", "1.5")),
    ("rp-str", lambda s: s.remove_projections("abc"), InvalidIndexError, IndexError,
     ("projections", "'abc'")),
    ("rp-nested", lambda s: s.remove_projections([[1, 2], [3]]), InvalidIndexError,
     IndexError, ("projections[0]", "[1, 2]")),
    ("rp-nan", lambda s: s.remove_projections([np.nan]), InvalidIndexError, IndexError,
     ("projections[0]", "nan")),
    ("rp-all", lambda s: s.remove_projections(list(range(15))), InvalidArgumentError,
     ValueError, ("every one of the 15", "keep at least one")),
    # extract_sinogram
    ("es-str", lambda s: s.extract_sinogram("bad"), ArgumentTypeError, TypeError,
     ('"column" argument must be either a float or an integer', "str")),
    ("es-none", lambda s: s.extract_sinogram(None), ArgumentTypeError, TypeError,
     ('"column"', "NoneType")),
    ("es-bool", lambda s: s.extract_sinogram(True), ArgumentTypeError, TypeError,
     ('"column"', "bool")),
    ("es-big", lambda s: s.extract_sinogram(10000), InvalidIndexError, IndexError,
     ("column=10000", "0..31")),
    ("es-neg", lambda s: s.extract_sinogram(-33), InvalidIndexError, IndexError,
     ("column=-33",)),
    ("es-float-out", lambda s: s.extract_sinogram(1e6), InvalidIndexError, IndexError,
     ("column=1000000.0", "outside the x axis")),
    ("es-nan", lambda s: s.extract_sinogram(float("nan")), InvalidArgumentError, ValueError,
     ("column", "nan", "finite")),
    # manual_align
    ("ma-zero", lambda s: s.manual_align(0), InvalidIndexError, IndexError,
     ("nslice=0", "1..14")),
    ("ma-big", lambda s: s.manual_align(99), InvalidIndexError, IndexError, ("nslice=99",)),
    ("ma-str", lambda s: s.manual_align("two"), InvalidArgumentError, ValueError,
     ("nslice", "'two'")),
    ("ma-frac", lambda s: s.manual_align(5, xshift=1.5), InvalidArgumentError, ValueError,
     ("xshift", "1.5")),
    ("ma-yshift", lambda s: s.manual_align(5, yshift=-40), InvalidArgumentError, ValueError,
     ("yshift=-40", "32 rows")),
    ("ma-xshift", lambda s: s.manual_align(5, xshift=10**9), InvalidArgumentError,
     ValueError, ("xshift=1000000000",)),
    # stack_register(start=...)
    ("sr-start-big", lambda s: s.stack_register("PC", start=99), InvalidIndexError,
     IndexError, ("start=99", "15 projections")),
    ("sr-start-str", lambda s: s.stack_register("StackReg", start="mid"), InvalidIndexError,
     IndexError, ("start", "'mid'")),
    ("sr-start-frac", lambda s: s.stack_register("COM-CL", start=2.5), InvalidIndexError,
     IndexError, ("start", "2.5")),
    ("sr-start-nan", lambda s: s.stack_register("PC", start=float("nan")), InvalidIndexError,
     IndexError, ("start", "nan")),
    # filter
    ("f-size-neg", lambda s: s.filter(size=-3), InvalidArgumentError, ValueError,
     ("size must be ≥ 1", "-3")),
    ("f-size-str", lambda s: s.filter(size="five"), InvalidArgumentError, ValueError,
     ("size", "'five'")),
    ("f-size-frac", lambda s: s.filter(size=2.5), InvalidArgumentError, ValueError,
     ("size", "2.5")),
    ("f-size-huge", lambda s: s.filter(size=10**6), InvalidArgumentError, ValueError,
     ("size must be ≤ 32", "1000000")),
    ("f-taper-neg", lambda s: s.filter(taper=-0.1), InvalidArgumentError, ValueError,
     ("taper", "-0.1")),
    ("f-taper-one", lambda s: s.filter(taper=1.5), InvalidArgumentError, ValueError,
     ("taper", "1.5", "[0, 1)")),
    ("f-taper-str", lambda s: s.filter(taper="x"), InvalidArgumentError, ValueError,
     ("taper", "'x'")),
    ("f-taper-nan", lambda s: s.filter("sobel", taper=float("nan")), InvalidArgumentError,
     ValueError, ("taper", "nan")),
    ("f-method", lambda s: s.filter(method=3), UnknownMethodError, ValueError,
     ('"3"', "median")),
    # rebin
    ("rb-neither", lambda s: s.rebin(), InvalidArgumentError, ValueError,
     ("exactly one of new_shape and scale",)),
    ("rb-both", lambda s: s.rebin(new_shape=(15, 16, 16), scale=(1, 2, 2)),
     InvalidArgumentError, ValueError, ("exactly one",)),
    ("rb-short", lambda s: s.rebin(scale=(2, 2)), InvalidArgumentError, ValueError,
     ("one value per axis (3", "(2, 2)")),
    ("rb-str", lambda s: s.rebin(scale="2"), InvalidArgumentError, ValueError,
     ("scale", "'2'")),
    ("rb-zero", lambda s: s.rebin(scale=(1, 0, 2)), InvalidArgumentError, ValueError,
     ("scale[1]=0",)),
    ("rb-neg", lambda s: s.rebin(scale=(1, -2, 2)), InvalidArgumentError, ValueError,
     ("scale[1]=-2",)),
    ("rb-nan", lambda s: s.rebin(scale=(1, 2, float("nan"))), InvalidArgumentError,
     ValueError, ("scale[2]", "nan")),
    ("rb-huge", lambda s: s.rebin(scale=(1, 1000, 2)), InvalidArgumentError, ValueError,
     ("scale[1]=1000", "(0, 32]")),
    ("rb-text", lambda s: s.rebin(scale=(1, "two", 2)), InvalidArgumentError, ValueError,
     ("scale[1]", "'two'")),
    ("rb-merge", lambda s: s.rebin(scale=(3, 2, 2)), InvalidArgumentError, ValueError,
     ("merge projections", "scale[0]=3")),
    ("rb-shape-merge", lambda s: s.rebin(new_shape=(5, 16, 16)), InvalidArgumentError,
     ValueError, ("merge projections", "new_shape[0]=5")),
    ("rb-shape-big", lambda s: s.rebin(new_shape=(15, 64, 16)), InvalidArgumentError,
     ValueError, ("new_shape[1] must be ≤ 32", "64")),
    ("rb-dtype", lambda s: s.rebin(scale=(1, 2, 2), dtype="nonsense"),
     InvalidArgumentError, ValueError, ("dtype='nonsense'",)),
]


@pytest.mark.parametrize(("call", "cls", "builtin", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_verb_refuses_with_our_error(stack, call, cls, builtin, words):
    _refused(stack, call, cls, builtin, *words)


# what a fuzz of every public verb (wrong types, negative/huge numbers, NaN, empty and
# ragged lists, objects) found escaping as a library's error
FUZZ_CASES = [
    ("ta-shift", lambda s: s.test_align(tilt_shift="abc"), InvalidArgumentError, ValueError,
     ("tilt_shift", "'abc'")),
    ("ta-rot", lambda s: s.test_align(tilt_rotation=[1, 2]), InvalidArgumentError,
     ValueError, ("tilt_rotation", "[1, 2]")),
    ("ta-thick", lambda s: s.test_align(thickness=[4]), InvalidArgumentError, ValueError,
     ("thickness", "[4]")),
    ("ta-thresh", lambda s: s.test_align(thresh=np.array([])), InvalidArgumentError,
     ValueError, ("thresh",)),
    ("ta-vmin", lambda s: s.test_align(vmin_std=None), InvalidArgumentError, ValueError,
     ("vmin_std", "None")),
    ("ta-slices", lambda s: s.test_align(slices=[]), InvalidIndexError, IndexError,
     ("slices",)),
    ("ta-slices-out", lambda s: s.test_align(slices=[5, 99]), InvalidIndexError, IndexError,
     ("slices[1]=99",)),
    ("ta-constrain", lambda s: s.test_align(constrain=np.array([])), InvalidArgumentError,
     ValueError, ("constrain", "True or False")),
    ("norm-width", lambda s: s.normalize(width="wide"), InvalidArgumentError, ValueError,
     ("width", "'wide'")),
    ("norm-width-list", lambda s: s.normalize(width=[]), InvalidArgumentError, ValueError,
     ("width",)),
    ("re-nslice", lambda s: s.recon_error(nslice=[3]), InvalidIndexError, IndexError,
     ("nslice",)),
    ("re-nslice-out", lambda s: s.recon_error(nslice=999), InvalidIndexError, IndexError,
     ("nslice=999", "0..31")),
    ("re-iter", lambda s: s.recon_error(iterations="ten"), InvalidArgumentError, ValueError,
     ("iterations", "'ten'")),
    ("re-thresh", lambda s: s.recon_error(thresh=[0]), InvalidArgumentError, ValueError,
     ("thresh",)),
    ("ire-constrain", lambda s: list(s.iter_recon_error(constrain="yes")),
     InvalidArgumentError, ValueError, ("constrain", "'yes'")),
    ("rc-seed", lambda s: s.reconstruct(seed=[1], show_progressbar=False),
     InvalidArgumentError, ValueError, ("seed", "[1]")),
    ("rc-builder", lambda s: s.reconstruct(builder=["native"], show_progressbar=False),
     UnknownMethodError, ValueError, ("projection builder", "native")),
    ("rc-kernel", lambda s: s.reconstruct(kernel=3, show_progressbar=False),
     UnknownMethodError, ValueError, ("projection kernel", "strip")),
    ("rc-constrain", lambda s: s.reconstruct(constrain="no", show_progressbar=False),
     InvalidArgumentError, ValueError, ("constrain", "'no'")),
    ("mw-size", lambda s: s.plot_missing_wedge(size="big"), InvalidArgumentError,
     ValueError, ("size", "'big'")),
    ("mw-ax", lambda s: s.plot_missing_wedge(ax=3), ArgumentTypeError, TypeError,
     ("ax must be a matplotlib Axes", "int")),
    ("save-num", lambda s: s.save(42), ArgumentTypeError, TypeError,
     ("filename must be a file path", "int 42")),
    ("save-list", lambda s: s.save(["a.hspy"]), ArgumentTypeError, TypeError,
     ("filename", "list")),
    ("save-ext", lambda s: s.save("/tmp/x", extension=3), ArgumentTypeError, TypeError,
     ("extension", "3")),
    ("save-fmt", lambda s: s.save("/tmp/x.hspy", file_format=1.5), ArgumentTypeError,
     TypeError, ("file_format", "1.5")),
    ("raw-num", lambda s: s.save_raw(7), ArgumentTypeError, TypeError, ("filename", "7")),
    ("sa-path", lambda s: s.save_alignment(None), ArgumentTypeError, TypeError,
     ("path must be a file path", "NoneType")),
    ("sa-raw", lambda s: s.save_alignment("/tmp/x.xf", raw_shape=5), InvalidArgumentError,
     ValueError, ("raw_shape", "2 numbers")),
    ("sa-raw-neg", lambda s: s.save_alignment("/tmp/x.xf", raw_shape=(-1, 4)),
     InvalidArgumentError, ValueError, ("raw_shape[0]", "-1")),
    ("aa-path", lambda s: s.apply_alignment(3.5), ArgumentTypeError, TypeError,
     ("path must be a file path", "3.5")),
    ("cdt-str", lambda s: s.change_data_type("abc"), ArgumentTypeError, TypeError,
     ("dtype must be a NumPy number type", "'abc'")),
    ("cdt-none", lambda s: s.change_data_type(None), ArgumentTypeError, TypeError,
     ("dtype", "None")),
    ("cdt-list", lambda s: s.change_data_type([999]), ArgumentTypeError, TypeError,
     ("dtype", "[999]")),
    ("as-one", lambda s: s.apply_shifts(3), InvalidDataError, ValueError,
     ("Number of shifts (1) is not consistent", "(15, 2)")),
    ("as-nan", lambda s: s.apply_shifts(np.full((15, 2), np.nan)), InvalidDataError,
     ValueError, ("shifts", "NaN")),
    ("rb-out", lambda s: s.rebin(scale=(1, 2, 2), out=s), InvalidArgumentError, ValueError,
     ("rebin(out=", "stack = stack.rebin")),
    ("tc-one", lambda s: s.test_correlation(images=[3]), InvalidArgumentError, ValueError,
     ("images", "two")),
    ("scan-rot", lambda s: s.tilt_axis_scan(rotations=5), InvalidArgumentError, ValueError,
     ("rotations", "5")),
    ("scan-rot-str", lambda s: s.tilt_axis_scan(rotations=["a", "b"]), InvalidArgumentError,
     ValueError, ("rotations[0]", "'a'")),
    ("scan-off", lambda s: s.tilt_axis_scan(offsets=[]), InvalidArgumentError, ValueError,
     ("offsets",)),
    ("q-rec", lambda s: s.quality(rec="vol.hspy"), ArgumentTypeError, TypeError,
     ("rec must be a RecStack", "str")),
]

REC_CASES = [
    ("ps-x", lambda r: r.plot_slices(xslice=999), InvalidIndexError, IndexError,
     ("xslice=999",)),
    ("ps-y", lambda r: r.plot_slices(yslice="mid"), InvalidIndexError, IndexError,
     ("yslice", "'mid'")),
    ("ps-z", lambda r: r.plot_slices(zslice=[1]), InvalidIndexError, IndexError,
     ("zslice",)),
    ("ps-vmin", lambda r: r.plot_slices(vmin_std="a"), InvalidArgumentError, ValueError,
     ("vmin_std", "'a'")),
    ("ps-ret", lambda r: r.plot_slices(return_fig=np.array([])), InvalidArgumentError,
     ValueError, ("return_fig",)),
    ("p3-fig", lambda r: r.plot_3d(figsize=5), InvalidArgumentError, ValueError,
     ("figsize", "2 numbers")),
    ("p3-fig-neg", lambda r: r.plot_3d(figsize=(4, -1)), InvalidArgumentError, ValueError,
     ("figsize[1]", "-1")),
    ("p3-vmax", lambda r: r.plot_3d(vmax_std=[1]), InvalidArgumentError, ValueError,
     ("vmax_std",)),
    ("fp-chunk", lambda r: r.forward_project(np.arange(-60, 61, 20), chunk_size=0),
     InvalidArgumentError, ValueError, ("chunk_size must be ≥ 1", "0")),
    ("fp-chunk-neg", lambda r: r.forward_project(np.arange(-60, 61, 20), chunk_size=-3),
     InvalidArgumentError, ValueError, ("chunk_size", "-3")),
    ("fp-chunk-str", lambda r: r.forward_project(np.arange(-60, 61, 20), chunk_size="x"),
     InvalidArgumentError, ValueError, ("chunk_size", "'x'")),
    ("rv-str", lambda r: r.rotate_volume("abc"), InvalidArgumentError, ValueError,
     ("rotation_angles", "'abc'")),
    ("rv-ragged", lambda r: r.rotate_volume([[1, 2], [3]]), InvalidArgumentError,
     ValueError, ("rotation_angles", "three finite angles")),
    ("rv-none", lambda r: r.rotate_volume(), InvalidArgumentError, ValueError,
     ("rotation_angles=None",)),
    ("r-norm", lambda r: r.normalize(width=None), InvalidArgumentError, ValueError,
     ("width", "None")),
    ("r-cdt", lambda r: r.change_data_type("complex-ish"), ArgumentTypeError, TypeError,
     ("dtype",)),
]


@pytest.mark.parametrize(("call", "cls", "builtin", "words"), [c[1:] for c in FUZZ_CASES],
                         ids=[c[0] for c in FUZZ_CASES])
def test_fuzz_found_verb_refuses_with_our_error(stack, call, cls, builtin, words):
    _refused(stack, call, cls, builtin, *words)


@pytest.mark.parametrize(("call", "cls", "builtin", "words"), [c[1:] for c in REC_CASES],
                         ids=[c[0] for c in REC_CASES])
def test_volume_verb_refuses_with_our_error(rec, call, cls, builtin, words):
    _refused(rec, call, cls, builtin, *words)


@pytest.mark.parametrize(("make", "words"), [
    (lambda: etw.TomoStack(None), ("TomoStack needs a tilt series", "object")),
    (lambda: etw.TomoStack(np.array([["a", "b"], ["c", "d"]])), ("real numbers", "str")),
    (lambda: etw.TomoStack(np.zeros((0, 8, 8))), ("(0, 8, 8)",)),
    (lambda: etw.TomoStack(np.zeros((3, 8, 8), complex)), ("complex128",)),
    (lambda: etw.TomoStack({"a": 1}), ("TomoStack",)),
    (lambda: etw.RecStack(5), ("RecStack needs a volume", "()")),
    (lambda: etw.RecStack("abc"), ("RecStack", "str")),
    (lambda: etw.RecStack(np.array([object()] * 3)), ("RecStack", "object")),
    (lambda: etw.RecStack(np.zeros((4, 0, 4))), ("(4, 0, 4)",)),
])
def test_constructors_refuse_data_that_is_not_numbers(make, words):
    with pytest.raises(NotATiltSeriesError) as info:
        make()
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(("tilts", "words"), [
    ("abc", ("tilts", "'abc'")), ({"a": 1}, ("tilts", "{'a': 1}")),
    (np.array([object()] * 15), ("tilts",)), ([[1, 2], [3]], ("tilts",)),
])
def test_load_refuses_tilts_that_are_not_numbers(tmp_path, stack, tilts, words):
    saved = stack.save(tmp_path / "s.hspy")
    with pytest.raises(InvalidTiltsError) as info:
        etw.load(saved, tilts=tilts)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"extension": "abc"}, ("Cannot save", ".abc")),
    ({"file_format": "NotAFormat"}, ("Cannot save", "NotAFormat")),
])
def test_save_in_an_unknown_format_names_it_and_writes_nothing(tmp_path, stack, kwargs, words):
    with pytest.raises(OutputPathError) as info:
        stack.save(tmp_path / "out.hspy" if "file_format" in kwargs else tmp_path / "out",
                   **kwargs)
    assert isinstance(info.value, OSError)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert listing(tmp_path) == []


@pytest.mark.parametrize(("size", "words"), [("big", ("size", "'big'")), (8, ("≥ 16",)),
                                             (None, ("size", "None")), (10**6, ("≤ 4096",)),
                                             (float("nan"), ("size", "nan"))])
def test_simulated_catalyst_size_is_checked(size, words):
    with pytest.raises(InvalidArgumentError) as info:
        etw.datasets.get_catalyst_data(size=size)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("bad", ["abc", 3, [1, 2]])
def test_replay_onto_a_stack_that_is_not_one(bad):
    with pytest.raises(ArgumentTypeError, match="stack must be a TomoStack"):
        etw.replay("stack = stack.invert()", stack=bad)


@pytest.mark.parametrize(("call", "check"), [
    (lambda s: s.remove_projections([0, -1]), lambda r: r.data.shape[0] == 13),
    (lambda s: s.remove_projections(np.int64(3)), lambda r: r.data.shape[0] == 14),
    (lambda s: s.extract_sinogram(np.int32(5)), lambda r: r.data.shape == (15, 32)),
    (lambda s: s.extract_sinogram(-1), lambda r: r.data.shape == (15, 32)),
    (lambda s: s.manual_align(np.int64(5), xshift=2.0), lambda r: r.data.shape == (15, 32, 30)),
    (lambda s: s.filter(size=3.0, taper=0), lambda r: r.data.shape == (15, 32, 32)),
    (lambda s: s.rebin(scale=(1, 2, 2)), lambda r: r.data.shape == (15, 16, 16)),
    (lambda s: s.rebin(new_shape=(15, 16, 8)), lambda r: r.data.shape == (15, 8, 16)),
])
def test_good_values_still_work(stack, call, check):
    assert check(call(stack))


def test_manual_align_validation_keeps_etspy_meaning(stack):
    """Accepted values give the same result as before the checks (an int split)."""
    out = stack.manual_align(7, xshift=3, yshift=-2)
    data = np.asarray(stack.data)
    np.testing.assert_array_equal(out.data[:7], data[:7, 0:30, 3:32])
    np.testing.assert_array_equal(out.data[7:], data[7:, 2:32, 0:29])


# -- lazy reconstructions refuse a non-finite result, block by block ------------------------
@pytest.fixture
def lazy_overflow(tmp_path):
    """Finite data (load accepts it) whose one column overflows float32 in a reconstruction:
    only the block of slices 16..23 turns inf/NaN."""
    data = phantom_stack((32, 32)).data.copy()
    data[:, :, 20] = 3e38
    saved = etw.TomoStack(data, tilts=np.arange(-70.0, 71.0, 10.0)).save(tmp_path / "n.hspy")
    return etw.load(saved, lazy=True)


def test_lazy_reconstruction_refuses_a_nan_block_on_compute(lazy_overflow):
    rec = lazy_overflow.reconstruct("FBP", chunk_size=8)  # lazy: nothing computed yet
    assert not isinstance(rec.data, np.ndarray)
    with pytest.raises(NonFiniteResultError) as info:
        rec.compute()
    text = str(info.value)
    assert "NaN or infinite" in text and "slices 16 to 23" in text, text
    assert isinstance(info.value, ValueError)


def test_lazy_reconstruction_refuses_a_nan_block_when_saved(lazy_overflow, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    rec = lazy_overflow.reconstruct("SIRT", iterations=3, chunk_size=8)
    with pytest.raises(NonFiniteResultError, match="NaN or infinite"):
        rec.save(out / "vol.zspy")
    assert listing(out) == []  # nothing written, no temporary left


def test_lazy_check_computes_each_block_once(tmp_path, monkeypatch):
    """The finiteness check runs inside each block: saving computes every block once."""
    calls = []
    real = lazy._reconstruct_block

    def counted(block, *args, **kwargs):
        calls.append(kwargs.get("x0"))
        return real(block, *args, **kwargs)

    monkeypatch.setattr(lazy, "_reconstruct_block", counted)
    saved = phantom_stack((32, 32)).save(tmp_path / "s.hspy")
    rec = etw.load(saved, lazy=True).reconstruct("FBP", chunk_size=8)
    rec.save(tmp_path / "vol.zspy")
    assert sorted(calls) == [0, 8, 16, 24]  # each block once (not twice for a check)
    eager = etw.load(saved).reconstruct("FBP", show_progressbar=False)
    np.testing.assert_allclose(etw.load(tmp_path / "vol.zspy").data, eager.data, atol=1e-5)
