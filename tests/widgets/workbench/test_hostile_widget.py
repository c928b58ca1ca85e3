"""The workbench refuses hostile traits and stacks, in words, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets
from hostile_fixtures import TILTS, phantom_stack

import etspy_widgets as etw
from etspy_widgets.engine.errors import InvalidDataError, TomographyError


@pytest.fixture(scope="module")
def stack():
    return phantom_stack((32, 32))


@pytest.fixture(scope="module")
def wb(stack):
    widget = etw.AlignmentWorkbench(stack)
    widget.wait()
    yield widget
    widget.shutdown()


@pytest.mark.parametrize(("trait", "value", "words"), [
    ("cmap", "not-a-colormap", ("cmap", "not-a-colormap", "gray")),
    ("cmap", "", ("cmap",)),
    ("cmap", "jet", ("cmap", "'jet'")),
    ("slice_iterations", -5, ("slice_iterations", "-5")),
    ("slice_iterations", 0, ("slice_iterations",)),
    ("slice_iterations", 10**6, ("slice_iterations",)),
    ("tilt_index", 999, ("tilt_index", "15 projections")),
    ("tilt_index", -1, ("tilt_index",)),
    ("slices", [0, 5, 999], ("slices", "999")),
    ("tilt_shift", float("nan"), ("tilt_shift", "finite")),
    ("tilt_rotation", float("inf"), ("tilt_rotation", "finite")),
    ("selected_slice", 7, ("selected_slice",)),
    ("contrast", [90.0, 10.0], ("contrast",)),
    ("contrast", [-5.0, 50.0], ("contrast",)),
    ("contrast_mode", "fancy", ("contrast_mode", "'fancy'")),
    ("contrast_limits", [5.0, 1.0], ("contrast_limits",)),
    ("contrast_limits", [float("nan"), 1.0], ("contrast_limits",)),
    ("slice_method", "ART", ("'ART'",)),
    ("nudges", {"999": [1.0, 2.0]}, ("nudges",)),
    ("nudges", {"2": [float("nan"), 0.0]}, ("nudges",)),
])
def test_bad_trait_values_are_refused_and_change_nothing(wb, trait, value, words):
    before = getattr(wb, trait)
    with pytest.raises(traitlets.TraitError) as info:
        setattr(wb, trait, value)
    for word in words:
        text = str(info.value)  # ETSpy's messages quote names with double quotes
        assert word in text or word.replace("'", '"') in text, (word, text)
    assert getattr(wb, trait) == before


@pytest.mark.parametrize(("trait", "value", "expected"), [
    ("cmap", "Viridis", "viridis"), ("cmap", "magma", "magma"),
    ("slice_iterations", 1, 1), ("slice_iterations", 50, 50),
])
def test_good_trait_values_are_kept(wb, trait, value, expected):
    setattr(wb, trait, value)
    assert getattr(wb, trait) == expected


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nan_stack_is_refused(stack, bad):
    data = stack.data.copy()
    data[2, 3, 4] = bad
    nan_stack = etw.TomoStack(data, tilts=TILTS)
    with pytest.raises(InvalidDataError) as info:
        etw.AlignmentWorkbench(nan_stack)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TomographyError)
    assert "NaN or infinite" in str(info.value) and "workbench" in str(info.value)


@pytest.mark.parametrize(("tilts", "words"), [
    (np.zeros(15), ("zero", "set_tilts")),
    (np.radians(TILTS), ("radians",)),
    (np.full(15, 20.0), ("All 15 tilts",)),
])
def test_bad_tilts_open_with_a_status_that_says_so(stack, tilts, words):
    widget = etw.AlignmentWorkbench(etw.TomoStack(stack.data, tilts=tilts))
    try:
        widget.wait()
        assert widget.status != "Ready."
        for word in words:
            assert word in widget.status, (word, widget.status)
    finally:
        widget.shutdown()


def test_good_stack_is_ready(wb):
    assert wb.status == "Ready." or "done" in wb.status


@pytest.mark.parametrize(("button", "kwargs", "words"), [
    ("register", {"method": "Nonsense"}, ("Nonsense",)),
    ("tilt_align", {"method": "Hough"}, ("Hough",)),
    ("reconstruct", {"method": "ART"}, ("ART",)),
])
def test_bad_button_arguments_are_refused_and_log_nothing(stack, button, kwargs, words):
    widget = etw.AlignmentWorkbench(stack)
    try:
        with pytest.raises(ValueError) as info:
            getattr(widget, button)(**kwargs)
        for word in words:
            assert word in str(info.value)
        assert widget.log.actions == [] and widget.stack is stack
    finally:
        widget.shutdown()


def test_unknown_constructor_keyword(stack):
    with pytest.raises(TypeError, match="cmapp"):
        etw.AlignmentWorkbench(stack, cmapp="gray")
