"""Wheel mode: the package under test is the wheel a user installs, not a build from source.

python/run-tests.sh builds the wheel (python/build-wheels.sh), installs it into a fresh virtual
environment with no Rust tool on the PATH and sets ``SOFTOBJ_WHEEL`` to the wheel's path; these
tests then check that what the other tests import is that wheel's, byte for byte, and that the
wheel is the one a release uploads (manylinux, abi3). ``SOFTOBJ_NUMPY_MAJOR`` says which numpy
major the environment was made with. Without ``SOFTOBJ_WHEEL`` (a development install) they skip.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import platform
import shutil
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

import soft_objectness as so
from soft_objectness import _core

from conftest import ROOT

WHEEL = os.environ.get("SOFTOBJ_WHEEL")
pytestmark = pytest.mark.skipif(not WHEEL, reason="not in wheel mode (SOFTOBJ_WHEEL unset)")

PACKAGE_SOURCE = ROOT / "python" / "py_src" / "soft_objectness"


def dist():
    return importlib.metadata.distribution("soft-objectness")


def record_hash(path: Path) -> str:
    """A file's hash in the form of a wheel's RECORD (sha256, urlsafe base64, unpadded)."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_extension_module_is_installed_in_the_venv():
    site = Path(sysconfig.get_paths()["platlib"]).resolve()
    assert sys.prefix != sys.base_prefix, "not running in a virtual environment"
    for module in (so, _core):
        path = Path(module.__file__).resolve()
        assert path.is_relative_to(site), f"{module.__name__} from {path}, not {site}"
        assert not path.is_relative_to(ROOT / "python"), f"{module.__name__} from the checkout"


def test_record_lists_the_extension_module_with_its_hash():
    entries = {str(f): f for f in dist().files}
    name = f"soft_objectness/{Path(_core.__file__).name}"
    assert name in entries, f"{name} not in RECORD: {sorted(entries)}"
    entry = entries[name]
    assert Path(dist().locate_file(entry)).resolve() == Path(_core.__file__).resolve()
    assert f"{entry.hash.mode}={entry.hash.value}" == record_hash(Path(_core.__file__))


def test_extension_module_is_the_wheels_byte_for_byte():
    with zipfile.ZipFile(WHEEL) as whl:
        packed = whl.read(f"soft_objectness/{Path(_core.__file__).name}")
    assert packed == Path(_core.__file__).read_bytes()


def test_no_rust_tool_on_the_path():
    for tool in ("cargo", "rustc", "rustup"):
        assert shutil.which(tool) is None, f"{tool} is on the PATH: {shutil.which(tool)}"


def test_wheel_is_abi3_manylinux2014():
    arch = platform.machine()
    want = {f"cp39-abi3-manylinux2014_{arch}", f"cp39-abi3-manylinux_2_17_{arch}"}
    tags = set(dist().read_text("WHEEL").split("Tag: ")[1:])
    assert {t.strip() for t in tags} == want
    name = Path(WHEEL).name
    assert name == f"soft_objectness-{so.__version__}-cp39-abi3-manylinux2014_{arch}.manylinux_2_17_{arch}.whl"


def test_every_package_file_is_in_the_wheel():
    """Python modules and package data (stubs, py.typed, data files) alike."""
    shipped = {str(f) for f in dist().files}
    sources = [
        p
        for p in PACKAGE_SOURCE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".so")
    ]
    assert len(sources) > 5
    missing = [
        str(p.relative_to(PACKAGE_SOURCE.parent)) for p in sources
        if str(p.relative_to(PACKAGE_SOURCE.parent)) not in shipped
    ]
    assert not missing, f"not in the wheel: {missing}"


def test_metadata_is_the_packages():
    meta = dist().metadata
    assert meta["Version"] == so.__version__
    readme = (ROOT / "python" / "README.md").read_text(encoding="utf-8")
    assert meta.get_payload().strip() == readme.strip()


def test_numpy_major_is_the_environments():
    want = os.environ.get("SOFTOBJ_NUMPY_MAJOR")
    assert want, "SOFTOBJ_NUMPY_MAJOR unset: python/run-tests.sh sets it for each environment"
    assert np.__version__.split(".")[0] == want
