"""VolumeView (ipyvolume): what it sends, how it downsamples, its isosurface and slice planes.

No browser: these check the widget models (traits and the arrays they hold). The payload size
is measured with ipyvolume's own serializer.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from ipyvolume.serialize import cube_to_tiles
from scipy import ndimage

from etspy_widgets.engine.errors import InvalidDataError
from etspy_widgets.widgets.volume import (
    VolumeView,
    block_mean,
    downsample_factor,
    tile_bytes,
    transfer_function_rgba,
)


def blob(shape=(40, 30, 50), centre=None, width=60.0):
    grids = np.mgrid[tuple(slice(0, s) for s in shape)]
    centre = [s / 2 for s in shape] if centre is None else centre
    r2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
    return np.exp(-r2 / width).astype(np.float32)


def serialized_bytes(volume_widget) -> int:
    return cube_to_tiles(volume_widget.data, obj=volume_widget)["tiles"].nbytes


def test_small_volume_is_sent_whole():
    vol = blob()
    view = VolumeView(vol)
    assert view.original_shape == vol.shape
    assert view.sent_shape == vol.shape
    assert view.downsample == 1
    sent = view.volumes[0]
    np.testing.assert_array_equal(sent.data, vol)
    assert serialized_bytes(sent) == view.sent_bytes
    assert "full resolution" in view.status.value


def test_large_volume_is_block_averaged_under_the_budget():
    rng = np.random.default_rng(0)
    vol = rng.random((161, 150, 170)).astype(np.float32)
    budget = 4_000_000
    view = VolumeView(vol, max_bytes=budget)
    factor = view.downsample
    assert factor >= 2
    assert view.sent_shape == tuple(-(-s // factor) for s in vol.shape)
    sent = view.volumes[0].data
    assert sent.shape == view.sent_shape
    measured = serialized_bytes(view.volumes[0])
    assert measured == view.sent_bytes <= budget
    # the factor is the smallest that fits
    assert tile_bytes(tuple(-(-s // (factor - 1)) for s in vol.shape)) > budget
    # each sent voxel is the mean of its block
    np.testing.assert_allclose(sent[3, 4, 5], vol[3 * factor:4 * factor, 4 * factor:5 * factor,
                                                  5 * factor:6 * factor].mean(), rtol=1e-5)
    assert f"downsampled ×{factor} from 161×150×170" in view.status.value


def test_block_mean_pads_edges_by_replication():
    vol = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    out = block_mean(vol, 2)
    assert out.shape == (3, 2, 2)
    np.testing.assert_allclose(out[0, 0, 0], vol[:2, :2, :2].mean())
    np.testing.assert_allclose(out[2, 1, 1], vol[4:, 2:, 2:].mean())  # padded by edge values
    assert downsample_factor((64, 64, 64)) == 1


def test_isosurface_lies_at_the_level():
    vol = blob((36, 36, 36), width=80.0)
    view = VolumeView(vol, iso_level=0.4, show_isosurface=True)
    assert view.iso_level == pytest.approx(0.4)
    verts, faces = view.isosurface_vertices()
    assert len(faces) > 100
    values = ndimage.map_coordinates(vol, verts.T, order=1)
    np.testing.assert_allclose(values, 0.4, atol=0.02)
    mesh = view._iso_mesh
    assert mesh.visible
    # the mesh holds the same vertices in scene coordinates (x, y, z = axes 2, 1, 0, + 0.5)
    np.testing.assert_allclose(mesh.x, verts[:, 2] + 0.5, atol=1e-4)
    np.testing.assert_allclose(mesh.z, verts[:, 0] + 0.5, atol=1e-4)
    radius_before = np.abs(mesh.x - 18).max()
    view.iso_level = 0.8
    assert np.abs(view._iso_mesh.x - 18).max() < radius_before  # a higher level is a smaller shell
    view.show_isosurface = False
    assert not view._iso_mesh.visible


def test_default_isosurface_level_is_otsu_and_range_is_checked():
    from skimage.filters import threshold_otsu

    vol = blob()
    view = VolumeView(vol)
    assert view.iso_level == pytest.approx(threshold_otsu(vol))
    with pytest.raises(ValueError, match="outside the range"):
        view.iso_level = 5.0
    with pytest.raises(ValueError, match="outside the range"):
        VolumeView(vol, iso_level=-1.0)


def test_isosurface_on_a_downsampled_volume_is_in_original_units():
    vol = blob((80, 80, 80), width=300.0)
    view = VolumeView(vol, downsample=2, iso_level=0.5, show_isosurface=True)
    verts, _ = view.isosurface_vertices()
    radius = np.linalg.norm(verts - 40, axis=1)
    expected = np.sqrt(-300.0 * np.log(0.5))  # exp(-r²/w) = 0.5
    assert abs(np.median(radius) - expected) < 1.0


def test_several_volumes_each_in_its_colour():
    shape = (24, 20, 28)
    cr, ni, si = (blob(shape, centre=c, width=20.0) for c in ((6, 10, 14), (12, 10, 14),
                                                               (18, 10, 14)))
    view = VolumeView({"Cr": cr, "Ni": ni, "Si": si}, colors=["red", "lime", "blue"],
                      threshold=0.2, opacity=0.3)
    assert view.names == ["Cr", "Ni", "Si"]
    # one volume is sent: each voxel in the value band of its strongest element
    assert len(view.figure.volumes) == 1
    sent = view.volumes[0].data
    assert sent.shape == shape
    for k, (centre, data) in enumerate(zip(((6, 10, 14), (12, 10, 14), (18, 10, 14)),
                                           (cr, ni, si), strict=True)):
        value = sent[centre]
        assert k / 3 <= value < (k + 1) / 3
        norm = (data[centre] - data.min()) / np.ptp(data)
        assert value == pytest.approx((k + 0.1 + 0.8 * norm) / 3, abs=1e-5)
    assert sent[0, 0, 0] == 0  # background (below the threshold everywhere) is transparent
    rgba = view.volumes[0].tf.rgba
    per = len(rgba) // 3
    for k, rgb in enumerate(np.eye(3)):
        band = rgba[k * per:(k + 1) * per]
        np.testing.assert_allclose(band[:, :3], np.broadcast_to(rgb, (per, 3)))
        x = (np.arange(per) + 0.5) / per
        inner = (x - 0.1) / 0.8
        assert (band[inner < 0.2, 3] == 0).all()  # transparent below the threshold
        assert (band[x > 0.9, 3] == 0).all()  # guard: never blends into the next band
        assert band[:, 3].max() == pytest.approx(0.3, rel=0.01)
    # the separate transfer functions are kept (slices, isosurfaces use the separate volumes)
    assert [tuple(t[0, :3]) for t in view.tf_rgba] == [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    with pytest.raises(InvalidDataError, match="same shape"):
        VolumeView([cr, ni[:-1]])
    with pytest.raises(ValueError, match="one colour per volume"):
        VolumeView([cr, ni], colors=[None, "red"])


def test_slice_planes_show_the_slice_values():
    vol = blob((20, 16, 24))
    view = VolumeView(vol, show_slices=True, cmap="viridis")
    meshes = view._slice_meshes
    assert all(m.visible for m in meshes)
    view.slice_x = 7
    mesh = meshes[0]
    np.testing.assert_allclose(mesh.z, 7.5)  # scene z is array axis 0
    lo, hi = float(vol.min()), float(vol.max())
    expected = matplotlib.colormaps["viridis"]((vol[7] - lo) / (hi - lo))[..., :3]
    np.testing.assert_allclose(np.asarray(mesh.color).reshape(-1, 3),
                               expected.reshape(-1, 3), atol=1e-5)
    with pytest.raises(IndexError, match="outside axis 0"):
        view.slice_x = 20
    view.show_slices = False
    assert not any(m.visible for m in meshes)
    view.show_volume = False
    assert not view.volumes[0].visible


def test_transfer_function_is_transparent_below_threshold():
    rgba = transfer_function_rgba(cmap="afmhot", threshold=0.5, opacity=0.4, n=101)
    assert (rgba[:50, 3] == 0).all()
    assert rgba[100, 3] == pytest.approx(0.4)
    assert np.all(np.diff(rgba[50:, 3]) > 0)
    with pytest.raises(ValueError, match="Unknown colour"):
        transfer_function_rgba(color="not-a-colour")


def test_bad_volumes_are_rejected():
    with pytest.raises(InvalidDataError, match="3D volumes"):
        VolumeView(np.zeros((4, 4)))
    bad = blob((8, 8, 8))
    bad[0, 0, 0] = np.nan
    with pytest.raises(InvalidDataError, match="NaN"):
        VolumeView(bad)
    with pytest.raises(ValueError, match="colours for"):
        VolumeView([blob(), blob()], colors=["red"])


def test_widgets_package_exports_the_views():
    import etspy_widgets.widgets as w
    from etspy_widgets.widgets.convergence import ConvergenceView
    from etspy_widgets.widgets.volume import VolumeView

    assert w.VolumeView is VolumeView and w.ConvergenceView is ConvergenceView
    with pytest.raises(AttributeError):
        w.NoSuchView  # noqa: B018
