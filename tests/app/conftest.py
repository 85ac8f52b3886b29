"""Every AppTest test starts from empty Streamlit caches (they are process-wide)."""

from __future__ import annotations

import pytest

from tests.support.apptest import clear_streamlit_caches


@pytest.fixture(autouse=True)
def clear_caches():
    clear_streamlit_caches()
    yield
