"""Stopping a superseded request (``LatestWorker(stoppable=True)``) leaves no library's lock
held: the quick-start notebook hung in Numba's first compile when the quality report's
worker had been stopped inside llvmlite's lock (``_LLVMLock.__exit__`` never ran)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from testpaths import ROOT

# Run in its own interpreter: a leaked lock would hang every later compile of the suite.
SCRIPT = textwrap.dedent('''
    import json, random, sys, threading, time

    import numba
    import numpy as np
    from llvmlite.binding import ffi
    from numba.core.compiler_lock import global_compiler_lock

    from etspy_widgets.widgets._worker import LatestWorker

    N = int(sys.argv[1])
    SOURCE = ("def f(x):\\n    s = 0.0\\n    for k in range(x.size):\\n"
              "        s += x[k] * {}\\n    return s\\n")

    def fresh(i):  # a function Numba has never seen: a cold, first-time compile
        space = {}
        exec(SOURCE.format(i + 1), space)
        return numba.njit(space["f"])

    def step():
        return None

    x = np.ones(3)
    fresh(-1)(x)  # Numba's own first-use set-up, outside the measurement
    t0 = time.perf_counter()
    assert fresh(-2)(x) == 3 * -1
    compile_s = time.perf_counter() - t0
    worker = LatestWorker(print, name="stress", stoppable=True)
    started, leaks, finished = threading.Event(), [], []
    random.seed(0)
    for i in range(N):
        def job(i=i):
            started.set()
            assert fresh(i)(x) == 3 * (i + 1)  # a stop during the compile lands after it
            for _ in range(10 ** 8):  # then Python calls of our own until stopped
                step()
        started.clear()
        worker.submit(job)
        assert started.wait(30)
        time.sleep(random.uniform(0.0, 1.2 * compile_s))  # somewhere in the compile
        worker.submit(lambda: finished.append(0), supersede=True)
        assert worker.wait(60), "the stopped request did not end"
        for name, lock in (("LLVM", ffi.lib._lock._lock),
                           ("Numba compiler", global_compiler_lock._lock)):
            if lock.acquire(timeout=10):
                lock.release()
            else:
                leaks.append(f"{name} lock held after stop {i}: {lock!r}")
        if leaks:
            break
        worker.submit(lambda: finished.append(1))  # the worker still runs requests
        assert worker.wait(60)
    print(json.dumps({"leaks": leaks, "stopped": worker.superseded, "asked": i + 1,
                      "finished": len(finished), "compile_s": compile_s}))
''')


def test_a_request_stopped_during_numba_compiles_leaves_no_lock_held(tmp_path):
    """Requests stopped at random moments of a cold Numba compile (40 of them, as the
    workbench's quality report is when a step follows another): afterwards llvmlite's and
    Numba's locks are free (the main thread takes them) and every request was stopped
    (after its compile: never inside it)."""
    script = tmp_path / "stop_in_compile.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(script), "40"], capture_output=True,
                          text=True, timeout=300, check=False, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["leaks"] == [], result
    assert result["stopped"] == result["asked"] == 40, result
    assert result["finished"] == 80, result
