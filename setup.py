"""The one build step pyproject.toml cannot declare: files kept at the repository's top level
(the design wants `app.yml` and `templates/` there) are copied into the package they belong to,
so a wheel carries them where the installed code reads them."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# repository path -> path inside the built package tree
PACKAGED = {
    "app.yml": "bot/app.yml",
    "templates": "bot/markdown/templates",
}


class BuildWithTopLevelFiles(build_py):  # type: ignore[misc]  # setuptools ships no types
    """build_py, plus app.yml and templates/ copied into the bot package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads them from the checkout itself
        for source, target in PACKAGED.items():
            src, dst = ROOT / source, Path(self.build_lib) / target
            if not src.exists():
                raise FileNotFoundError(f"{source} is missing: the package would not work")
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildWithTopLevelFiles})
