"""How the GPU tests read a missing adapter (``skip_without_gpu`` in conftest.py): skipped,
visibly, unless ``SOFTOBJ_REQUIRE_GPU=1``, which fails them; any other GPU error fails. The
same reading as the Rust GPU tests (tests/gpu)."""

from __future__ import annotations

import pytest

import soft_objectness as so

NO_ADAPTER = so.GpuError("gpu: no GPU adapter found; install a Vulkan driver (...)")


def test_a_missing_adapter_skips(skip_without_gpu, monkeypatch):
    monkeypatch.delenv("SOFTOBJ_REQUIRE_GPU", raising=False)
    with pytest.raises(pytest.skip.Exception, match="SOFTOBJ_REQUIRE_GPU=1 makes this a failure"):
        skip_without_gpu(NO_ADAPTER)


def test_a_missing_adapter_fails_where_a_gpu_is_required(skip_without_gpu, monkeypatch):
    monkeypatch.setenv("SOFTOBJ_REQUIRE_GPU", "1")
    with pytest.raises(pytest.fail.Exception, match="SOFTOBJ_REQUIRE_GPU=1 but gpu: no GPU adapter"):
        skip_without_gpu(NO_ADAPTER)


def test_another_gpu_error_is_raised_again(skip_without_gpu, monkeypatch):
    monkeypatch.delenv("SOFTOBJ_REQUIRE_GPU", raising=False)
    err = so.GpuError("gpu: shader compilation failed")
    with pytest.raises(so.GpuError, match="shader compilation failed"):
        skip_without_gpu(err)
