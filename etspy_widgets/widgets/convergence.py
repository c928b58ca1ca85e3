"""Convergence of iterative reconstructions, live: residual per iteration beside the slice.

[`ConvergenceView`][] runs ``TomoStack.iter_recon_error`` (the generator behind
``recon_error``) on one slice, off the kernel's message thread, and plots the
sinogram residual ‖W x − y‖ of each iteration as it arrives (log scale). Moving
the cursor over the curve (or the slider) shows the slice at that iteration. The
*Use N iterations* button turns the choice into an action,
``rec = stack.reconstruct(method=..., iterations=N)``, applied through an
[`ActionLog`][etspy_widgets.actions.ActionLog] when one is given, so it lands in the
code log.

The plot is an ipympl canvas (a widget), so the view works in JupyterLab and in
the workbench, and its data (``residuals``, ``images``) can be checked without a
browser.
"""

from __future__ import annotations

import threading
import time

import ipywidgets as widgets
import numpy as np
import traitlets

from ..actions import render, verbs
from ..engine.errors import Cancelled, InvalidArgumentError, check_method

ALGORITHMS = ("SIRT", "SART", "CGLS", "TV")


def _make_canvas(figsize=(9, 3.6)):
    """A matplotlib figure on an ipympl canvas, whatever the pyplot backend is."""
    from ipympl.backend_nbagg import Canvas, FigureManager
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    canvas = Canvas(fig)
    FigureManager(canvas, 0)
    canvas.header_visible = False
    canvas.toolbar_visible = False
    canvas.footer_visible = False
    return fig, canvas


class ConvergenceView(widgets.VBox):
    """Residual per iteration of SIRT/SART/CGLS/TV on one slice, with the slice under the cursor.

    Parameters
    ----------
    stack : TomoStack
        The tilt series (with its tilts).
    nslice : int, optional
        Column to reconstruct; default the middle one (as ``recon_error``).
    algorithm : {"SIRT", "SART", "CGLS", "TV"}
    iterations : int
        How many iterations to run (SART: sweeps).
    constrain : bool
        Non-negativity (as ``recon_error``).
    log : ActionLog, optional
        Where the chosen iteration count is applied as a reconstruction action.
    run : bool
        Start at once (in a background thread).
    recon_kwargs
        Passed to ``iter_recon_error`` (``thresh``, ``tv_weight``, ``backend``...).

    Examples
    --------
    >>> view = ConvergenceView(stack, algorithm="SART", iterations=30, run=True)  # doctest: +SKIP
    >>> view.residuals[:3]                                                         # doctest: +SKIP
    """

    algorithm = traitlets.Unicode("SIRT")
    iterations = traitlets.Int(50)
    nslice = traitlets.Int(0)
    constrain = traitlets.Bool(True)
    residuals = traitlets.List(traitlets.Float(), help="residual after each iteration so far")
    iteration = traitlets.Int(0, help="iteration shown in the image (1-based; 0: none yet)")
    running = traitlets.Bool(False)
    chosen = traitlets.Int(0, help="iteration count the user picked (0: none)")
    message = traitlets.Unicode("")

    def __init__(self, stack, nslice: int | None = None, algorithm: str = "SIRT",
                 iterations: int = 50, *, constrain: bool = True, log=None, run: bool = False,
                 **recon_kwargs):
        super().__init__()
        self.stack = stack
        self.action_log = log
        self.recon_kwargs = recon_kwargs
        self.images: list[np.ndarray] = []
        self.actions: list = []
        self._callbacks: list = []
        self._choose_callbacks: list = []
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_draw = 0.0
        nx = np.asarray(stack.data).shape[2]
        self.algorithm = check_method("algorithm", algorithm, ALGORITHMS)
        self.iterations = int(iterations)
        self.nslice = nx // 2 if nslice is None else int(nslice)
        self.constrain = bool(constrain)
        self._build(nx)
        if run:
            self.run()

    # -- layout -----------------------------------------------------------------
    def _build(self, nx: int) -> None:
        self.figure, self.canvas = _make_canvas()
        self.ax_res = self.figure.add_subplot(1, 2, 1)
        self.ax_img = self.figure.add_subplot(1, 2, 2)
        self.ax_res.set_yscale("log")
        self.ax_res.set_xlabel("iteration")
        self.ax_res.set_ylabel("‖W x − y‖")
        (self.line,) = self.ax_res.plot([], [], ".-", color="tab:blue", ms=3)
        self.marker = self.ax_res.axvline(0, color="tab:red", lw=1, visible=False)
        self.image = self.ax_img.imshow(np.zeros((2, 2)), cmap="afmhot")
        self.ax_img.set_axis_off()
        self.figure.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.88, wspace=0.25)
        self.canvas.mpl_connect("motion_notify_event", self._on_motion)

        self.w_algorithm = widgets.Dropdown(options=ALGORITHMS, value=self.algorithm,
                                            description="algorithm",
                                            layout=widgets.Layout(width="180px"))
        self.w_iterations = widgets.BoundedIntText(value=self.iterations, min=1, max=10000,
                                                   description="iterations",
                                                   layout=widgets.Layout(width="170px"))
        self.w_slice = widgets.BoundedIntText(value=self.nslice, min=0, max=nx - 1,
                                              description="slice",
                                              layout=widgets.Layout(width="150px"))
        for name, w in (("algorithm", self.w_algorithm), ("iterations", self.w_iterations),
                        ("nslice", self.w_slice)):
            traitlets.link((self, name), (w, "value"))
        self.w_run = widgets.Button(description="Run", icon="play", button_style="primary",
                                    layout=widgets.Layout(width="90px"))
        self.w_stop = widgets.Button(description="Stop", icon="stop", disabled=True,
                                     layout=widgets.Layout(width="90px"))
        self.w_run.on_click(lambda _: self.run())
        self.w_stop.on_click(lambda _: self.stop())
        self.w_iteration = widgets.IntSlider(value=0, min=0, max=max(1, self.iterations),
                                             description="show", continuous_update=True)
        traitlets.link((self, "iteration"), (self.w_iteration, "value"))
        self.w_choose = widgets.Button(description="Use 0 iterations", icon="check",
                                       disabled=True, layout=widgets.Layout(width="200px"))
        self.w_choose.on_click(lambda _: self.choose())
        self.w_message = widgets.HTML()
        traitlets.dlink((self, "message"), (self.w_message, "value"),
                        lambda m: f"<small>{m}</small>")
        self.children = [
            widgets.HBox([self.w_algorithm, self.w_iterations, self.w_slice, self.w_run,
                          self.w_stop]),
            self.canvas,
            widgets.HBox([self.w_iteration, self.w_choose]),
            self.w_message,
        ]

    # -- running ----------------------------------------------------------------
    def on_iteration(self, callback) -> None:
        """Call ``callback(view)`` after each iteration (from the worker thread)."""
        self._callbacks.append(callback)

    def on_choose(self, callback) -> None:
        """Call ``callback(action)`` when an iteration count is chosen."""
        self._choose_callbacks.append(callback)

    def run(self, block: bool = False) -> None:
        """Start (or restart) the run; ``block=True`` returns when it has finished."""
        self.stop()
        self.residuals = []
        self.images = []
        self.iteration = 0
        self._cancel = threading.Event()
        self.w_iteration.max = max(1, self.iterations)
        self.running = True
        self.message = (f"Running {self.algorithm} on slice {self.nslice}: "
                        f"0/{self.iterations}")
        if block:
            self._work(self._cancel)
        else:
            self._thread = threading.Thread(target=self._work, args=(self._cancel,),
                                            daemon=True, name="convergence")
            self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Stop a run in progress (keeps the iterations done so far)."""
        self._cancel.set()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def _work(self, cancel: threading.Event) -> None:
        self.w_run.disabled, self.w_stop.disabled = True, False
        residuals: list[float] = []
        try:
            steps = self.stack.iter_recon_error(self.nslice, self.algorithm, self.iterations,
                                                self.constrain, cancel=cancel,
                                                **self.recon_kwargs)
            for i, image, residual in steps:
                residuals.append(float(residual))
                self.images.append(image)
                self.residuals = list(residuals)
                self.message = (f"Running {self.algorithm} on slice {self.nslice}: "
                                f"{i}/{self.iterations}")
                self._redraw(final=False)
                for callback in self._callbacks:
                    callback(self)
                if cancel.is_set():
                    break
            done = "stopped" if cancel.is_set() else "done"
            self.message = (f"{self.algorithm}, slice {self.nslice}: {len(residuals)} "
                            f"iterations ({done}). Move over the curve to see each one.")
        except Cancelled:
            self.message = f"Stopped after {len(residuals)} iterations."
        except Exception as err:  # shown in the widget; the kernel thread must not die
            self.message = f"<b>Error</b>: {type(err).__name__}: {err}"
            if self._thread is None:
                raise
        finally:
            self.running = False
            self.w_run.disabled, self.w_stop.disabled = False, True
            if self.images and self.iteration == 0:
                self.iteration = len(self.images)
            self._redraw(final=True)

    # -- drawing ----------------------------------------------------------------
    def _redraw(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        values = np.asarray(self.residuals, dtype=np.float64)
        its = np.arange(1, len(values) + 1)
        self.line.set_data(its, values)
        if len(values):
            positive = values[values > 0]
            lo = positive.min() if positive.size else 1e-12
            hi = max(values.max(), lo * 1.01)
            self.ax_res.set_xlim(0.5, max(len(values), self.iterations) + 0.5)
            self.ax_res.set_ylim(lo / 1.2, hi * 1.2)
        self.ax_res.set_title(f"{self.algorithm}: residual per iteration", fontsize=9)
        self._show_image()
        self.canvas.draw_idle()

    def _show_image(self) -> None:
        k = self.iteration
        if 1 <= k <= len(self.images):
            img = self.images[k - 1]
            self.image.set_data(img)
            self.image.set_clim(float(img.min()), float(img.max()) or 1.0)
            self.image.set_extent((-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5))
            self.ax_img.set_title(f"slice {self.nslice} after {k} iterations", fontsize=9)
            self.marker.set_xdata([k, k])
            self.marker.set_visible(True)

    @traitlets.observe("iteration")
    def _on_iteration(self, change):
        k = change["new"]
        if hasattr(self, "w_choose"):
            self.w_choose.description = f"Use {k} iterations"
            self.w_choose.disabled = k < 1
            self._show_image()
            self.canvas.draw_idle()

    def _on_motion(self, event) -> None:
        if event.inaxes is not self.ax_res or event.xdata is None or not self.images:
            return
        k = int(np.clip(round(event.xdata), 1, len(self.images)))
        if k != self.iteration:
            self.iteration = k

    # -- the choice --------------------------------------------------------------
    def choose(self, iterations: int | None = None):
        """Turn an iteration count (default: the one shown) into a reconstruction action.

        With a ``log``, the action is applied through it (it runs the reconstruction
        of the whole stack and lands in the code log). Returns the action.
        """
        k = self.iteration if iterations is None else int(iterations)
        if k < 1:
            raise InvalidArgumentError(
                "Run first, then pick an iteration count ≥ 1 from the curve.")
        kwargs = {"iterations": k}
        if self.constrain:
            kwargs["constrain"] = True
        action = verbs.reconstruct(self.algorithm, **kwargs)
        self.chosen = k
        self.actions.append(action)
        if self.action_log is not None:
            self.action_log.apply(action)
        for callback in self._choose_callbacks:
            callback(action)
        self.message = f"Chosen: <code>{render(action)}</code>"
        return action

    @property
    def code(self) -> str:
        """The line of the latest choice ('' before any)."""
        return render(self.actions[-1]) if self.actions else ""


__all__ = ["ALGORITHMS", "ConvergenceView"]
