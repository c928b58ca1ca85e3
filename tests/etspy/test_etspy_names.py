"""ETSpy 1.3.0's module names (``etspy_widgets.etspy``), the names-only shim that runs ETSpy's
own suite against us, the aligner classes as the methods the verbs run, and the fixes of
ETSpy's behaviour that its own tests do not accept (docs/etspy-mapping.md)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from testpaths import ROOT

import etspy_widgets as etw
from etspy_widgets import TomoStack
from etspy_widgets.engine.errors import (
    InvalidTiltsError,
    NotATiltSeriesError,
    UnknownMethodError,
)
from etspy_widgets.etspy import align, base, projmatch

SHIM = ROOT / "tests" / "etspy_shim"
MODULES = ("api", "base", "io", "align", "recon", "utils", "datasets", "simulation",
           "visualize", "transform", "projmatch")


@pytest.fixture
def stack():
    rng = np.random.default_rng(3)
    data = np.zeros((15, 40, 36), np.float32)
    data[:, 14:26, 10:26] = 1.0
    data += 0.02 * rng.random(data.shape, dtype=np.float32)
    return TomoStack(data, tilts=np.linspace(-70, 70, 15))


def test_shim_modules_are_ours():
    """`import etspy.X` through the shim gives etspy_widgets.etspy.X itself (names only)."""
    code = ("import importlib, etspy\n"
            f"for m in {MODULES!r}:\n"
            "    mod = importlib.import_module('etspy.' + m)\n"
            "    ours = importlib.import_module('etspy_widgets.etspy.' + m)\n"
            "    assert mod is ours or m == 'api', m\n"
            "from etspy.align import TiltCOMAligner, TiltMaxImageAligner\n"
            "from etspy_widgets.engine.align import TILT_ALIGNERS\n"
            "assert TILT_ALIGNERS['CoM'] is TiltCOMAligner\n"
            "import etspy.api as e\n"
            "assert e.TomoStack is etspy.TomoStack if hasattr(etspy, 'TomoStack') else True\n"
            "print('ok')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SHIM), str(ROOT)])}
    env.pop("ETSPY_SUITE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], check=False, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def test_every_etspy_module_exists():
    import importlib

    for name in MODULES:
        assert importlib.import_module(f"etspy_widgets.etspy.{name}") is not None
    assert base.CommonStack is etw.engine.signals.CommonStackMixin
    with pytest.raises(NotImplementedError, match="should not be instantiated"):
        base.CommonStack(np.zeros((3, 8, 8)))


def test_aligner_classes_are_what_stack_register_runs(stack):
    for name, cls in (("PC", align.PhaseCorrelationAligner), ("COM", align.CoMAligner),
                      ("COM-CL", align.CommonLineAligner)):
        shifts = cls(stack, start=7).calculate_shifts()
        reg = stack.stack_register(name, start=7, crop=False)
        np.testing.assert_array_equal(reg.shift_values, shifts)
        aligner = cls(stack, start=7)
        out = aligner.align()
        np.testing.assert_array_equal(out.data, reg.data)
        np.testing.assert_array_equal(aligner.shifts, shifts)
        assert out.history[-1].startswith("stack = stack.stack_register(")
    # arrays work too (tilts given)
    arr = align.CoMAligner(np.asarray(stack.data), tilts=stack.tilt_values).calculate_shifts()
    np.testing.assert_array_equal(arr, align.CoMAligner(stack).calculate_shifts())
    line = align.CommonLineAligner(stack).pad_line(np.ones(11), 20)
    assert line.shape == (20,) and line.sum() == 11 and line[4] == 1 and line[3] == 0
    with pytest.raises(ValueError, match=r"Resolution should be less than 0\.5"):
        align.CommonLineAligner(stack, cl_resolution=0.9).calculate_shifts()


def test_tilt_aligners_are_what_tilt_align_runs(stack, caplog):
    tilted = stack.trans_stack(angle=1.5, yshift=1.0)
    for cls in (align.TiltCOMAligner, align.TiltMaxImageAligner,
                align.TiltMassProfileAligner):
        found = cls(tilted).measure()
        out = tilted.tilt_align(cls.method)
        assert out.metadata.Tomography.tilt_align_result.rotation == pytest.approx(
            found["rotation"], abs=1e-12)
        np.testing.assert_array_equal(cls(tilted).align_tilt_axis().data, out.data)
    with caplog.at_level(logging.WARNING):
        align.TiltCOMAligner(stack, nslices=20).measure()
    assert "Using 10 slices instead" in caplog.text
    with pytest.raises(ValueError, match="greater than the X-dimension"):
        align.TiltCOMAligner(stack, nslices=100).measure()
    flat = stack.deepcopy()
    del flat.tilts
    with pytest.raises(InvalidTiltsError, match="values were all zeros"):
        flat.tilt_align("CoM")


def test_unknown_names_raise_both_classes_etspy_code_catches(stack, tmp_path):
    with pytest.raises(TypeError, match=r'Invalid registration method "X"\. Must be one of '
                       r'\["StackReg", "PC", "COM", or "COM-CL"\]\. This package also '
                       r'accepts "PM"'):
        stack.stack_register("X")
    with pytest.raises(ValueError, match="Invalid registration method"):
        stack.stack_register("X")
    assert issubclass(UnknownMethodError, TypeError) and issubclass(UnknownMethodError,
                                                                    ValueError)
    with pytest.raises(TypeError, match="float or an integer"):
        stack.extract_sinogram("bad")
    with pytest.raises(TypeError):
        etw.load(tmp_path / "nothing.mrc")
    with pytest.raises(FileNotFoundError):
        etw.load(tmp_path / "nothing.mrc")
    with pytest.raises(NotATiltSeriesError) as err:
        etw.load(np.zeros(10))
    assert isinstance(err.value, TypeError) and isinstance(err.value, ValueError)


def test_fixes_of_etspy_behaviour(stack):
    """What ETSpy's own tests expect and we do differently, on purpose."""
    # filter(taper): the padded data and the axes agree (ETSpy padded the data and left the
    # axes at the old size, so its signal_shape no longer described its data)
    filt = stack.filter("median", size=3, taper=0.1)
    assert filt.data.shape[1:] == filt.axes_manager.signal_shape[::-1]
    assert filt.data.shape[1:] != stack.data.shape[1:]
    # apply_shifts refuses a flat array of 2n values (ETSpy: the same; we used to reshape)
    with pytest.raises(ValueError, match="Number of shifts"):
        align.apply_shifts(stack, np.zeros(30))
    # isig with one index keeps a one-pixel-wide TomoStack with its tilts
    one = stack.isig[5, :]
    assert isinstance(one, TomoStack) and one.data.shape == (15, 40, 1)
    np.testing.assert_array_equal(one.tilt_values, stack.tilt_values)
    # the shifts' signal axis names its order: column 0 moves the rows (y), so "(y, x)";
    # ETSpy labels it "x/y"
    assert stack.shifts.axes_manager.signal_axes[0].name == "Shift values (y, x)"
    moved = stack.apply_shifts(np.tile([2.0, 0.0], (15, 1)), "interp")
    rows = np.arange(40)[None, :, None]

    def row_com(data):
        block = np.where(np.asarray(data) > 0.5, np.asarray(data), 0.0)  # the block only
        return (block * rows).sum(axis=(1, 2)) / block.sum(axis=(1, 2))

    np.testing.assert_allclose(row_com(moved.data) - row_com(stack.data), 2.0, atol=0.05)
    # plot_sinos keeps the calibration: y across in the stack's units, the tilts down in
    # degrees (ETSpy's test expects projection indices because its axis was not calibrated)
    import matplotlib.pyplot as plt

    stack.axes_manager.navigation_axes[0].offset = -70.0
    stack.axes_manager.navigation_axes[0].scale = 10.0
    stack.plot_sinos()
    ylim = plt.gcf().axes[0].get_ylim()
    assert sorted(ylim) == pytest.approx([-75.0, 75.0])
    plt.close("all")
    # tilt_align composes into tiltaxis like trans_stack does (ETSpy's MaxImage overwrote it
    # with its own answer, so after trans_stack(angle=2.3) it said -2.3 for a net rotation ≈ 0)
    rotated = stack.trans_stack(angle=2.3)
    found = rotated.tilt_align("MaxImage")
    md = found.metadata.Tomography
    assert md.tiltaxis == pytest.approx(2.3 + md.tilt_align_result.rotation, abs=1e-9)
    # del stack.tilts / stack.shifts: zeros
    copy = stack.deepcopy()
    del copy.tilts, copy.shifts
    assert not copy.tilt_values.any() and not copy.shift_values.any()


def test_projmatch_recovers_known_shifts():
    """ProjMatch (ETSpy's class, our projection matching) on one sinogram with known shifts."""
    from scipy import ndimage

    from etspy_widgets.engine.simulation import create_model_tilt_series

    rng = np.random.default_rng(0)
    obj = np.zeros((48, 48))
    obj[10:18, 28:36] = 2.0
    obj[20:34, 12:26] = 1.0
    obj = ndimage.gaussian_filter(obj, 1)
    tilts = np.linspace(-70, 70, 36)
    series = create_model_tilt_series(obj[np.newaxis], angles=tilts)
    data = np.asarray(series.data, dtype=np.float64)  # (36, 48, 1): one sinogram
    assert data.shape == (36, 48, 1)
    truth = rng.uniform(-2, 2, tilts.size)  # applied across the axis
    moved = np.stack([ndimage.shift(p, (t, 0), order=3, mode="nearest")
                      for p, t in zip(data, truth, strict=True)])
    pm = projmatch.ProjMatch(TomoStack(moved.astype(np.float32), tilts=tilts), nslice=0)
    found = pm.calculate_shifts()  # to apply: -truth up to a common offset
    err = (found + truth) - np.mean(found + truth)
    assert np.sqrt(np.mean(err**2)) < 0.2
    ali = pm.apply_shifts()
    np.testing.assert_allclose(ali.shift_values[:, 0], found)
