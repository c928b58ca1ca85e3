"""The quality report of a tilt series and the tilt-axis scan result (NumPy + pandas).

[`assess`][] runs the measures, the consistency check (twice: the second reconstruction
leaves out what the first flagged, so a bad projection does not hide in the volume it
spoiled) and the resolution; [`QualityReport`][] and [`TiltAxisScan`][] hold the results
with a table, a summary, a plot and a CSV writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..atomic import atomic_path
from ..transform import bin_stack
from ._consistency import consistency, thickness_estimate, working_factor
from ._measures import flag_projections, projection_measures
from ._resolution import even_odd_frc

# AreTomo3's TiltSeries_Metrics.csv names, where our numbers mean the same
ARETOMO_COLUMNS = {"tilt_series": "Tilt_Series", "thickness_px": "Thickness(Pix)",
                   "tilt_axis": "Tilt_Axis", "global_shift_px": "Global_Shift(Pix)",
                   "pixel_size_A": "Pix_Size(A)"}
TABLE_COLUMNS = ("projection", "tilt", "residual", "ncc", "dy", "dx", "mean", "dark_fraction",
                 "sharpness", "neighbour_change", "flag", "reasons")


def assess(data, tilts, rec=None, *, thresholds=None, iterations: int = 10, thickness=None,
           max_size: int = 128, resolution: bool = True, frc_threshold: str = "half-bit",
           pixel_size: float = 1.0) -> dict:
    """Every per-projection measure, the flags and the series figures of one tilt series."""
    data = np.asarray(data, dtype=np.float32)
    tilts = np.asarray(tilts, dtype=np.float64).reshape(-1)
    # one binning to at most 512 px serves the measures, the reconstruction (binned on
    # from here) and the resolution; a given rec is compared at the full size
    f = working_factor(data.shape[1:], 512) if rec is None else 1
    half = bin_stack(data, f) if f > 1 else data
    measures = projection_measures(half if rec is None else
                                   (bin_stack(data, working_factor(data.shape[1:], 512))
                                    if max(data.shape[1:]) > 512 else data))

    def check(exclude):
        out = consistency(half, tilts, rec, exclude=exclude, iterations=iterations,
                          thickness=None if thickness is None else int(thickness) // f,
                          max_size=max_size)
        out["dy"], out["dx"], out["factor"] = out["dy"] * f, out["dx"] * f, out["factor"] * f
        return out

    flags, _ = flag_projections(measures, None, thresholds)
    exclude = [i for i, r in enumerate(flags) if r]
    cons = check(exclude)
    flags, reasons = flag_projections(measures, cons, thresholds)
    bad = [i for i, r in enumerate(flags) if r]
    if rec is None and set(bad) - set(exclude):
        cons = check(bad)
        flags, reasons = flag_projections(measures, cons, thresholds)
        bad = [i for i, r in enumerate(flags) if r]
    keep = np.setdiff1d(np.arange(len(tilts)), bad)
    frc = None
    if resolution and keep.size >= 6:
        # at most 512 px: finer than 4 binned pixels is rarely what limits a series
        fr = working_factor(data.shape[1:], 512)
        small = (half if f == fr else bin_stack(data, fr)) if fr > 1 else data
        frc = even_odd_frc(small[keep], tilts[keep], kind=frc_threshold,
                           pixel_size=pixel_size * fr)
        frc["resolution_px"] *= fr
    return {"measures": measures, "consistency": cons, "flags": flags, "reasons": reasons,
            "frc": frc, "thickness_px": thickness_estimate(cons["volume"]) * cons["factor"]}


@dataclass
class QualityReport:
    """How consistent a tilt series is, projection by projection (``stack.quality()``).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per projection: ``projection``, ``tilt``, ``residual`` (normalised RMS
        against the reprojection), ``ncc``, ``dy``, ``dx`` (shift to apply to match the
        reprojection, pixels), ``mean``, ``dark_fraction``, ``sharpness``,
        ``neighbour_change``, ``flag`` (``""`` or the reason), ``reasons`` (all that apply).
    summary : dict
        ``rms_residual``, ``global_shift_px``, ``tilt_axis``, ``tilt_axis_offset_px``,
        ``resolution`` (``units``), ``resolution_px``, ``thickness`` (``units``),
        ``thickness_px``, ``n_flagged``, ``pixel_size``, ``units`` and, after a scan,
        ``scan_rotation``, ``scan_offset_px``.
    frc : dict or None
        ``frequency`` (cycles/pixel), ``frc``, ``threshold`` of the even/odd split.
    """

    table: object
    summary: dict
    frc: dict | None = None
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def flagged(self) -> list[int]:
        """Indices of the flagged projections (for ``stack.remove_projections``)."""
        return [int(i) for i in self.table.index[self.table["flag"] != ""]]

    def to_csv(self, path, overwrite: bool = True, series: bool = False):
        """Write the per-projection table (or, ``series=True``, the one-row series metrics
        with AreTomo3's ``TiltSeries_Metrics.csv`` column names where they mean the same)
        atomically. Returns the path."""
        frame = self.series_table() if series else self.table
        with atomic_path(path, overwrite=overwrite) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
        return path

    def series_table(self):
        """The summary as a one-row DataFrame named as AreTomo3's metrics where possible."""
        import pandas as pd

        s = self.summary
        row = {"Tilt_Series": s.get("title", ""), "Thickness(Pix)": s["thickness_px"],
               "Tilt_Axis": s["tilt_axis"], "Global_Shift(Pix)": s["global_shift_px"]}
        if s.get("units") == "nm":
            row["Pix_Size(A)"] = 10.0 * s["pixel_size"]
        row.update({"RMS_Residual": s["rms_residual"], "Resolution(Pix)": s["resolution_px"],
                    f"Resolution({s.get('units', 'px')})": s["resolution"],
                    "Bad_Tilts": s["n_flagged"]})
        return pd.DataFrame([row])

    def to_dict(self) -> dict:
        """Summary and table as plain lists (what ``metadata.Tomography.quality`` holds)."""
        out = {"summary": {k: (float(v) if isinstance(v, (np.floating, float, int)) and
                               not isinstance(v, bool) else v)
                           for k, v in self.summary.items() if v is not None}}
        cols = {}
        for name in self.table.columns:
            values = self.table[name].tolist()
            if name == "reasons":
                values = [";".join(v) for v in values]
            cols[name] = values
        out["table"] = cols
        return out

    def plot(self, fig=None):
        """Residual and NCC, shifts, intensity and focus against tilt; the FRC. Returns the
        matplotlib figure; flagged projections are marked in red with their reason."""
        import matplotlib.pyplot as plt

        t = self.table
        fig = fig or plt.figure(figsize=(11, 7))
        axes = fig.subplots(2, 2)
        bad = t["flag"] != ""
        ax = axes[0, 0]
        ax.plot(t["tilt"], t["residual"], ".-", label="residual")
        ax.plot(t["tilt"], 1 - t["ncc"], ".-", label="1 − NCC")
        ax.set_yscale("log")
        for _, row in t[bad].iterrows():
            ax.axvline(row["tilt"], color="r", alpha=0.3)
            ax.annotate(row["flag"], (row["tilt"], row["residual"]), fontsize=7, color="r",
                        rotation=90, va="bottom")
        ax.set(xlabel="tilt (°)", title="Consistency with the reprojection")
        ax.legend(fontsize=8)
        ax = axes[0, 1]
        ax.plot(t["tilt"], t["dy"], ".-", label="dy")
        ax.plot(t["tilt"], t["dx"], ".-", label="dx")
        ax.plot(t["tilt"][bad], t["dy"][bad], "rx")
        ax.set(xlabel="tilt (°)", ylabel="pixels", title="Shift to match the reprojection")
        ax.legend(fontsize=8)
        ax = axes[1, 0]
        ax.plot(t["tilt"], t["mean"] / np.median(t["mean"]), ".-", label="mean / median")
        ax.plot(t["tilt"], t["sharpness"] / np.median(t["sharpness"]), ".-",
                label="sharpness / median")
        ax.plot(t["tilt"][bad], (t["mean"] / np.median(t["mean"]))[bad], "rx")
        ax.set(xlabel="tilt (°)", title="Intensity and focus")
        ax.legend(fontsize=8)
        ax = axes[1, 1]
        if self.frc is not None:
            ax.plot(self.frc["frequency"], self.frc["frc"], label="FRC even/odd")
            ax.plot(self.frc["frequency"], self.frc["threshold"], "--", label="threshold")
            s = self.summary
            ax.set(xlabel="spatial frequency (1/pixel)", ylim=(-0.2, 1.05),
                   title=f"Resolution {s['resolution']:.3g} {s.get('units', 'px')}")
            ax.legend(fontsize=8)
        else:
            ax.set_axis_off()
        fig.tight_layout()
        return fig


@dataclass
class TiltAxisScan:
    """The tilt-axis scan (``stack.tilt_axis_scan()``): the correction that minimises the
    data-consistency criterion, its bootstrap uncertainty and the curves.

    ``rotation`` (degrees) and ``offset`` (pixels) are the correction to apply, with the
    signs of ``stack.trans_stack(angle=rotation, yshift=offset)`` and of
    ``metadata.Tomography.tilt_align_result``. ``uncertainty`` is ``(rotation, offset)``.
    """

    rotation: float
    offset: float
    uncertainty: tuple
    rotations: np.ndarray
    offsets: np.ndarray
    surface: np.ndarray
    rotation_curve: np.ndarray
    offset_curve: np.ndarray
    columns: np.ndarray

    @classmethod
    def from_dict(cls, d: dict) -> TiltAxisScan:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return {"rotation": float(self.rotation), "offset": float(self.offset),
                "uncertainty": [float(u) for u in self.uncertainty]}

    def plot(self, fig=None, marks=None):
        """The criterion against rotation (least over offsets) and against offset (at the
        best rotation), and the surface. ``marks``: ``{name: (rotation, offset)}`` of other
        methods to draw beside the minimum. Returns the figure."""
        import matplotlib.pyplot as plt

        fig = fig or plt.figure(figsize=(12, 3.6))
        axes = fig.subplots(1, 3)
        rc = self.rotation_curve / self.rotation_curve.min()
        axes[0].plot(self.rotations, rc, "-")
        axes[0].axvline(self.rotation, color="k", ls="--",
                        label=f"scan {self.rotation:.2f}° ± {self.uncertainty[0]:.2f}")
        sel = np.abs(self.offsets - self.offset) <= max(3.0, 4 * abs(self.uncertainty[1]))
        oc = self.offset_curve / self.offset_curve.min()
        axes[1].plot(self.offsets[sel], oc[sel], "-")
        axes[1].axvline(self.offset, color="k", ls="--",
                        label=f"scan {self.offset:.2f} ± {self.uncertainty[1]:.2f} px")
        surf = np.log10(self.surface / self.surface.min())
        axes[2].imshow(surf[:, sel].T, aspect="auto", origin="lower", cmap="viridis",
                       extent=(self.rotations[0], self.rotations[-1],
                               self.offsets[sel][0], self.offsets[sel][-1]))
        axes[2].plot(self.rotation, self.offset, "w+", ms=12)
        for j, (name, (r, o)) in enumerate((marks or {}).items()):
            color = f"C{j + 1}"
            axes[0].axvline(r, color=color, label=f"{name} {r:.2f}°")
            if o is not None:
                axes[1].axvline(o, color=color, label=f"{name} {o:.2f} px")
                axes[2].plot(r, o, "x", color=color)
        axes[0].set(xlabel="rotation (°)", ylabel="criterion / min",
                    title="Criterion vs rotation")
        axes[1].set(xlabel="offset (px)", title="Criterion vs offset")
        axes[2].set(xlabel="rotation (°)", ylabel="offset (px)", title="log10 criterion")
        for ax in axes[:2]:
            ax.legend(fontsize=7)
        fig.tight_layout()
        return fig
