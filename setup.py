"""Build hook: ship the front end (js/) and the quick-start notebook inside the package.

Everything else is in pyproject.toml. In a source checkout (editable install) the widget
reads js/ directly; a wheel carries copies in etspy_widgets/static and
etspy_widgets/notebooks so that a non-editable install works the same.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# every front-end module (the widget joins them into one ES module at import), not the tests
FRONT_END = [*sorted(str(p.relative_to(ROOT)) for p in (ROOT / "js").glob("*.js")),
             "js/workbench.css"]
COPIES = {"static": FRONT_END, "notebooks": ["notebooks/quickstart.ipynb"]}


class BuildPyWithFrontEnd(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder, files in COPIES.items():
            target = Path(self.build_lib) / "etspy_widgets" / folder
            target.mkdir(parents=True, exist_ok=True)
            for name in files:
                shutil.copy2(ROOT / name, target / Path(name).name)


setup(cmdclass={"build_py": BuildPyWithFrontEnd})
