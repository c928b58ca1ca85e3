"""EMD files: Velox (Thermo Fisher) tilt series and tomviz's ``/data/tomography``.

RosettaSciIO reads the pixels, the calibration and the metadata of both (Velox through its
``FeiEMDReader``, tomviz's through the EMD-Berkeley reader, since tomviz writes EMD 0.2);
what it lacks is added here:

* Velox: RosettaSciIO keeps the metadata of the *first* frame only; a tilt series stores one
  JSON document per frame (``/Data/Image/<uuid>/Metadata``, one column per frame) and each
  has its own ``Stage.AlphaTilt`` (radians). Those are the tilts.
* tomviz: the angles are the values of ``dim1`` (units ``[deg]`` or ``[rad]``); RosettaSciIO
  turns ``dim1`` into a uniform axis (offset + step), which loses unevenly spaced tilts.

Writing follows tomviz's ``EmdFormat::writeNode`` (tomviz/EmdFormat.cxx): root attributes
``version_major = 0``, ``version_minor = 2``; group ``/data/tomography`` with
``emd_group_type = 1``; dataset ``data``; ``dim1..dim3`` with ``name`` and ``units``
attributes; for a tilt series ``dim1`` holds the angles (name ``angles``, units ``[deg]``).
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import TomoFileError

TOMVIZ_GROUP = "data/tomography"
_EMD_UNITS = {"nm": "[n_m]", "µm": "[u_m]", "um": "[u_m]", "Å": "[A]", "A": "[A]",
              "pm": "[p_m]", "m": "[m]", "degrees": "[deg]", "deg": "[deg]"}


def _h5(path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise TomoFileError(
            f"{path} is not an EMD file: it is not HDF5 ({err}). EMD files from Velox, tomviz "
            "or HyperSpy are HDF5; check the file type.") from err


def emd_kind(path) -> str:
    """``"velox"``, ``"tomviz"`` (a tilt series in ``/data/tomography``) or ``"berkeley"``."""
    with _h5(path) as f:
        if "Version" in f:
            try:
                fmt = json.loads(f["Version"][0].decode("utf-8")).get("format")
            except (ValueError, AttributeError, IndexError):
                fmt = None
            if fmt in ("Velox", "DevelopersKit"):
                return "velox"
        group = f.get(TOMVIZ_GROUP)
        if group is not None and "data" in group and "dim1" in group:
            if _dim_units(group["dim1"]) in ("[deg]", "[rad]"):
                return "tomviz"
            return "tomviz-volume"
        def _emd_group(name, obj):
            return name if "emd_group_type" in getattr(obj, "attrs", {}) else None

        if f.visititems(_emd_group) is None:
            raise TomoFileError(
                f"{path} is HDF5 but not an EMD file RosettaSciIO or we read (no group with "
                "emd_group_type, no Velox /Version). Open it with h5py to see what it holds.")
    return "berkeley"


def _dim_units(ds) -> str:
    value = ds.attrs.get("units", "")
    return value.decode() if isinstance(value, bytes) else str(value)


def tomviz_angles(path) -> np.ndarray:
    """The tilt angles (degrees) of a tomviz tilt series: ``dim1`` of ``/data/tomography``."""
    with _h5(path) as f:
        dim1 = f[TOMVIZ_GROUP]["dim1"]
        values = np.asarray(dim1[()], dtype=np.float64).reshape(-1)
        if _dim_units(dim1) == "[rad]":
            values = np.degrees(values)
    return values


def velox_frame_tilts(path, shape) -> np.ndarray | None:
    """``Stage.AlphaTilt`` (degrees) of every frame of the Velox image whose data has ``shape``.

    ``shape`` is the ``(n, ny, nx)`` RosettaSciIO gave. Velox stores the data ``(ny, nx, n)``
    and the metadata as a ``(bytes, n)`` array of UTF-8 JSON, one column per frame.
    """
    with _h5(path) as f:
        images = f.get("Data/Image")
        if images is None:
            return None
        for key in images:
            group = images[key]
            data = group.get("Data")
            if data is None or tuple(data.shape) != (shape[1], shape[2], shape[0]):
                continue
            meta = group["Metadata"]
            tilts = []
            for k in range(meta.shape[1]):
                text = meta[:, k].tobytes().decode("utf-8", errors="replace").rstrip("\x00")
                try:
                    alpha = json.loads(text)["Stage"]["AlphaTilt"]
                except (ValueError, KeyError, TypeError):
                    return None
                tilts.append(np.degrees(float(alpha)))
            return np.array(tilts)
    return None


def read_tomviz_volume(path):
    """``(data, [(name, scale, units)] in array order)`` of a tomviz volume."""
    with _h5(path) as f:
        group = f[TOMVIZ_GROUP]
        data = group["data"][()]
        axes = []
        for k in range(data.ndim):
            dim = group.get(f"dim{k + 1}")
            values = np.asarray(dim[()], dtype=np.float64) if dim is not None else np.arange(2.0)
            name = dim.attrs.get("name", f"dim{k + 1}") if dim is not None else f"dim{k + 1}"
            name = name.decode() if isinstance(name, bytes) else str(name)
            units = _FROM_EMD.get(_dim_units(dim), _dim_units(dim).strip("[]")) if dim is not None \
                else ""
            axes.append((name, float(values[1] - values[0]) if values.size > 1 else 1.0, units))
    return data, axes


_FROM_EMD = {"[n_m]": "nm", "[u_m]": "µm", "[A]": "Å", "[p_m]": "pm", "[m]": "m"}


def write_tomviz(signal, path, tilts=None) -> None:
    """Write ``signal`` as tomviz EMD to ``path`` (a temporary path: see ``export``).

    A tilt series ``(n, ny, nx)`` gets ``dim1`` = its tilts (``[deg]``), ``dim2`` = y,
    ``dim3`` = x; a volume gets its three axes in array order. The data are written as
    they are (dtype kept), one projection/slice at a time for a lazy signal.
    """
    import h5py

    data = signal.data
    axes = sorted(signal.axes_manager._axes, key=lambda a: a.index_in_array)  # array order
    with h5py.File(path, "w") as f:
        f.attrs["version_major"] = np.uint32(0)
        f.attrs["version_minor"] = np.uint32(2)
        group = f.create_group(TOMVIZ_GROUP)
        group.attrs["emd_group_type"] = np.uint32(1)
        ds = group.create_dataset("data", shape=data.shape, dtype=data.dtype,
                                  chunks=(1, *data.shape[1:]))
        for k in range(data.shape[0]):
            ds[k] = np.asarray(data[k])
        ds.attrs["name"] = "ImageScalars"
        names = ["angles", "y", "x"] if tilts is not None else [a.name for a in axes]
        for k, ax in enumerate(axes):
            if k == 0 and tilts is not None:
                values, units = np.asarray(tilts, dtype=np.float32), "[deg]"
            else:
                values = np.asarray(ax.axis, dtype=np.float32)
                units = _EMD_UNITS.get(str(ax.units), f"[{ax.units}]")
            dim = group.create_dataset(f"dim{k + 1}", data=values)
            dim.attrs["name"] = str(names[k])
            dim.attrs["units"] = units
