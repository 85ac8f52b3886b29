"""Every AppTest test starts from empty Streamlit caches (they are process-wide)."""

from __future__ import annotations

import sys

import pytest

from tests.support.apptest import clear_streamlit_caches


@pytest.fixture(autouse=True)
def clear_caches():
    clear_streamlit_caches()
    yield


@pytest.fixture(autouse=True)
def keep_main_module():
    """Streamlit's script runner puts its script's module in `sys.modules["__main__"]` and leaves it
    there; multiprocessing's spawn (Dask's local workers, in later tests) would then run that
    script. Each app test gets the real `__main__` back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
