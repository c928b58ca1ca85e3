"""Looking at volumes and tilt series: projections, rotation, Fourier coverage.

Pure NumPy/SciPy (matplotlib only inside the ``plot_*`` functions), so the
signal classes and the widgets call the same code.

Axis names follow the volume convention of a [`RecStack`][etspy_widgets.RecStack]:
an array of shape ``(nx, nz, ny)`` where ``x`` runs along the tilt axis, ``z``
along the beam (the thickness) and ``y`` across the tilt axis.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidArgumentError, InvalidDataError, InvalidTiltsError, check_method

#: volume axis index for each axis name, in a RecStack's ``(nx, nz, ny)`` order
VOLUME_AXES = {"x": 0, "z": 1, "y": 2}

PROJECTION_KINDS = ("max", "mean", "sum", "min")


def _as_volume(volume) -> np.ndarray:
    data = np.asarray(getattr(volume, "data", volume))
    if data.ndim != 3:
        raise InvalidDataError(
            f"Expected a volume of shape (nx, nz, ny); got an array of shape {data.shape}. "
            "Pass a RecStack or a 3D NumPy array."
        )
    return data


def volume_axis(axis) -> int:
    """The array index of a volume axis given by name (``'x'``, ``'z'``, ``'y'``) or index.

    Raises
    ------
    UnknownMethodError
        If the name is not one of ``'x'``, ``'z'``, ``'y'``.
    ValueError
        If an integer index is not 0, 1 or 2.
    """
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        if not 0 <= int(axis) <= 2:
            raise InvalidArgumentError(f"A volume axis index must be 0, 1 or 2; got {axis}.")
        return int(axis)
    return VOLUME_AXES[check_method("volume axis", axis, list(VOLUME_AXES))]


def project_volume(volume, axis="z", kind: str = "max") -> np.ndarray:
    """Project a volume along one axis: maximum, mean, sum or minimum.

    Parameters
    ----------
    volume : RecStack or numpy.ndarray
        Volume of shape ``(nx, nz, ny)``.
    axis : {'x', 'z', 'y'} or int
        Axis to project along; ``'z'`` (default) looks down the beam.
    kind : {'max', 'mean', 'sum', 'min'}
        The reduction.

    Returns
    -------
    numpy.ndarray
        The 2D projection (the remaining two axes in their original order).

    Examples
    --------
    >>> import numpy as np
    >>> vol = np.zeros((4, 5, 6)); vol[1, 2, 3] = 7
    >>> project_volume(vol, "z", "max").shape
    (4, 6)
    >>> float(project_volume(vol, "z", "max")[1, 3])
    7.0
    """
    data = _as_volume(volume)
    kind = check_method("projection", kind, PROJECTION_KINDS)
    reducer = {"max": np.max, "mean": np.mean, "sum": np.sum, "min": np.min}[kind]
    return reducer(data, axis=volume_axis(axis))


def rotation_matrix(rotation_angles) -> np.ndarray:
    """The 3×3 matrix of ETSpy's ``rotate_volume`` angles.

    ``rotation_angles`` are degrees about the volume's ``[x, z, y]`` axes
    (array axes 0, 1, 2), applied in that order: first about x, then z, then y.
    """
    try:
        angles = np.asarray(rotation_angles, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        angles = np.full(1, np.nan)
    if angles.shape != (3,) or not np.isfinite(angles).all():
        raise InvalidArgumentError(
            f"rotation_angles must be three finite angles in degrees (about x, z, y); got "
            f"{rotation_angles!r:.60}."
        )
    about_x, about_z, about_y = np.deg2rad(angles)

    def plane_rotation(i: int, j: int, angle: float) -> np.ndarray:
        mat = np.eye(3)
        c, s = np.cos(angle), np.sin(angle)
        mat[i, i] = mat[j, j] = c
        mat[i, j], mat[j, i] = -s, s
        return mat

    # about axis 0 turns (1, 2); about axis 1 turns (2, 0); about axis 2 turns (0, 1)
    return plane_rotation(0, 1, about_y) @ plane_rotation(2, 0, about_z) @ plane_rotation(
        1, 2, about_x
    )


def rotate_volume(volume, rotation_angles, order: int = 3) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Rotate a volume about its centre (ETSpy's ``RecStack.rotate_volume`` convention).

    Parameters
    ----------
    volume : RecStack or numpy.ndarray
        Volume of shape ``(nx, nz, ny)``.
    rotation_angles : sequence of 3 floats
        Degrees about the ``[x, z, y]`` axes.
    order : int
        Spline order of the interpolation (3, as ETSpy; 1 is faster).

    Returns
    -------
    rotated, matrix, offset : numpy.ndarray
        The rotated volume (same shape, zeros outside), the 3×3 matrix and the
        offset such that ``rotated[o] = volume[matrix @ o + offset]``.
    """
    data = _as_volume(volume)
    matrix = rotation_matrix(rotation_angles)
    centre = 0.5 * (np.asarray(data.shape, dtype=np.float64) - 1)
    offset = centre - matrix @ centre
    work = data if data.dtype.kind == "f" else data.astype(np.float32)
    rotated = ndimage.affine_transform(work, matrix, offset, output_shape=data.shape,
                                       order=int(order), cval=0.0)
    return rotated, matrix, offset


def _check_tilts(tilts) -> np.ndarray:
    values = np.asarray(getattr(tilts, "tilt_values", getattr(tilts, "data", tilts)),
                        dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise InvalidTiltsError(
            "Fourier coverage needs a non-empty array of finite tilt angles in degrees; got "
            f"{values.tolist()[:8]}."
        )
    return values


def fourier_coverage(tilts, size: int = 128, width: float = 1.0) -> np.ndarray:
    """Which points of the Fourier plane perpendicular to the tilt axis a tilt series samples.

    By the Fourier slice theorem each projection at tilt ``θ`` samples one
    central line of the 2D Fourier transform of every slice ``(z, y)``; this
    rasterises those lines. The unsampled double cone around ``k_z`` is the
    missing wedge. (In the textbook convention, tilt axis along y, this is the
    kx–kz plane; here the tilt axis runs along x, so it is the ky–kz plane.)

    Parameters
    ----------
    tilts : array-like or TomoStack
        Tilt angles in degrees (or a stack, whose tilts are used).
    size : int
        Side of the square Fourier grid (frequencies ``fftshift(fftfreq(size))``).
    width : float
        Width of each sampled line, in Fourier pixels.

    Returns
    -------
    numpy.ndarray of bool, shape ``(size, size)``
        ``coverage[i, j]`` for ``k_z = k[i]`` (rows) and ``k_y = k[j]`` (columns),
        with the zero frequency at ``[size // 2, size // 2]``. The orientation
        matches the 2D FFT (``numpy.fft.fftshift``) of a slice reconstructed
        with ASTRA's parallel geometry as ETSpy sets it up.
    """
    angles = np.deg2rad(_check_tilts(tilts))
    size = int(size)
    if size < 4:
        raise InvalidArgumentError(f"size must be at least 4 Fourier pixels; got {size}.")
    k = np.arange(size) - size // 2
    kz, ky = np.meshgrid(k, k, indexing="ij")
    covered = np.zeros((size, size), dtype=bool)
    for angle in angles:
        # ASTRA's projection at θ samples the line of direction (k_y, k_z) = (cos θ, -sin θ)
        distance = np.abs(ky * np.sin(angle) + kz * np.cos(angle))
        covered |= distance <= 0.5 * width
    return covered


def missing_wedge_angles(tilts) -> tuple[float, float, float]:
    """Tilt range and the angular size of the missing wedge, in degrees.

    Returns
    -------
    (min_tilt, max_tilt, missing) : float
        ``missing = 180 - (max_tilt - min_tilt)``, clipped at 0.
    """
    values = _check_tilts(tilts)
    lo, hi = float(values.min()), float(values.max())
    return lo, hi, max(0.0, 180.0 - (hi - lo))


def plot_missing_wedge(tilts, size: int = 128, ax=None, title: str | None = None):
    """Plot the Fourier coverage of a tilt series and outline the missing wedge.

    Parameters
    ----------
    tilts : array-like or TomoStack
        Tilt angles in degrees.
    size : int
        Side of the Fourier grid.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure otherwise.
    title : str, optional
        Axes title; by default the tilt range and wedge size.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    coverage = fourier_coverage(tilts, size=size)
    lo, hi, missing = missing_wedge_angles(tilts)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    half = size // 2
    extent = (-half - 0.5, size - half - 0.5, -half - 0.5, size - half - 0.5)
    ax.imshow(coverage, cmap="Blues", vmin=0, vmax=1.4, extent=extent, origin="lower",
              interpolation="nearest")
    radius = half
    for edge in (lo, hi):
        rad = np.deg2rad(edge)
        ky, kz = radius * np.cos(rad), -radius * np.sin(rad)
        ax.plot([-ky, ky], [-kz, kz], color="tab:red", lw=1)
    ax.set_xlabel("k_y (across the tilt axis)")
    ax.set_ylabel("k_z (along the beam)")
    if title is None:
        title = (f"Fourier coverage: tilts {lo:.0f}° to {hi:.0f}°, "
                 f"missing wedge {missing:.0f}°")
    ax.set_title(title, fontsize=9)
    return fig


__all__ = [
    "PROJECTION_KINDS",
    "VOLUME_AXES",
    "fourier_coverage",
    "missing_wedge_angles",
    "plot_missing_wedge",
    "project_volume",
    "rotate_volume",
    "rotation_matrix",
    "volume_axis",
]
