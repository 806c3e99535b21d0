"""The wheel installs one import package, ``scratchlm``, holding the four top-level folders."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("curate", "tokenizer", "model", "pipelines")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the tree (a build in place would leave build/ in the
    checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("scratchlm", *PACKAGES):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=skip)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("scratchlm-*.whl")
    return built


def tracked(folder: str) -> set[str]:
    """The files git tracks under ``folder``, relative to the repository."""
    listed = subprocess.run(
        ["git", "ls-files", folder], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(listed.stdout.split())


def test_the_wheel_has_one_top_level_name_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/")[0] for name in names} == {
        "scratchlm",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    files = {f"scratchlm/{name}" for folder in PACKAGES for name in tracked(folder)}
    modules = {name for name in files if name.endswith(".py")}
    assert {name for name in names if name.endswith(".py")} == modules | {"scratchlm/__init__.py"}
    assert files - names == set()  # data too: word lists with their licences and README, recipes
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))
    )
    assert b"scratchlm = scratchlm.pipelines.cli:main" in entry_points


def test_the_installed_package_runs_from_the_wheel_alone(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import importlib.util, scratchlm.pipelines.cli as cli; "
        "print(cli.__file__); print([n for n in ('model', 'tokenizer', 'curate', 'pipelines') "
        "if importlib.util.find_spec(n)])"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    where, generic = done.stdout.splitlines()
    assert Path(where).is_relative_to(site) and generic == "[]"
    listed = subprocess.run(
        [sys.executable, "-m", "scratchlm.pipelines", "stages"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "gopher_quality" in listed.stdout
