"""What components/streamlit_compat.py relies on in Streamlit, checked in both directions.

A failure here after a Streamlit upgrade means one of two things, and the test's message says which:
the internal name a workaround uses is gone or no longer decides the behaviour (the workaround would
silently stop working), or Streamlit no longer does what the workaround undoes (delete the workaround).
The browser side of item 1 is tests/browser/test_browser.py::test_a_deep_link_on_a_fresh_server_gets_the_full_app.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec
from streamlit.testing.v1 import AppTest

from components import streamlit_compat
from ei_anomaly.review import SourceKind
from tests.support.constants import ROOT

TIMEOUT = 90


@pytest.fixture
def pages_mode() -> Iterator[None]:
    """The attribute is process-wide: put it back as it was."""
    before = getattr(PagesManager, "uses_pages_directory", None)
    yield
    PagesManager.uses_pages_directory = before


# 1. Pages-directory mode on a fresh server


def test_pages_manager_decides_pages_directory_mode_from_the_pages_folder(pages_mode, tmp_path):
    assert "uses_pages_directory" in vars(PagesManager), "PagesManager.uses_pages_directory is gone: see item 1"
    PagesManager.uses_pages_directory = None
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True  # app.py has a pages/ folder next to it
    PagesManager.uses_pages_directory = None
    (tmp_path / "app.py").write_text("")
    PagesManager(str(tmp_path / "app.py"))
    assert PagesManager.uses_pages_directory is False


def test_a_new_session_keeps_the_mode_the_workaround_left(pages_mode):
    """The workaround sets False once per process; a new session's PagesManager must not undo it."""
    PagesManager.uses_pages_directory = False
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is False


def first_request_is_a_page_url(page: str) -> AppTest:
    """AppTest starts every run like a fresh server (it resets uses_pages_directory to None)."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).switch_page(f"pages/{page}.py").run()


def test_without_the_workaround_streamlit_runs_a_page_url_alone(pages_mode, monkeypatch):
    """If this fails, Streamlit no longer runs pages/<name>.py without app.py: item 1 can go."""
    monkeypatch.setattr(streamlit_compat, "leave_pages_directory_mode", lambda: None)
    at = first_request_is_a_page_url("thresholds")
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 4  # the page ran...
    assert not at.sidebar.radio, "app.py ran for a page URL without the workaround: see item 1"  # ...without app.py
    assert PagesManager.uses_pages_directory is True


def test_a_page_url_first_runs_through_app_py(pages_mode):
    at = first_request_is_a_page_url("thresholds")
    assert not at.exception, [e.value for e in at.exception]
    assert [r.label for r in at.sidebar.radio] == ["Data source"]
    assert at.sidebar.radio[0].value == SourceKind.DEMO
    assert len(at.get("plotly_chart")) == 4  # the page asked for, not the default one
    assert PagesManager.uses_pages_directory is False


# 2. Uploads are not deep-copied on every rerun


def upload_script() -> None:
    import streamlit as st

    value = st.file_uploader("File", key="upload")
    if value is not None:
        st.session_state["returned_what_state_holds"] = value is st.session_state["upload"]


def uploaded(content: bytes) -> AppTest:
    at = AppTest.from_function(upload_script, default_timeout=TIMEOUT).run()
    at.file_uploader[0].set_value(("log.csv", content, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_streamlit_defines_no_deepcopy_of_its_own_for_uploads():
    """If this fails, Streamlit now decides how an upload is copied: review item 2 before overriding it."""
    assert streamlit_compat.STREAMLIT_UPLOAD_DEEPCOPY is None


def test_without_the_override_streamlit_copies_an_upload_on_every_run(monkeypatch):
    """If this fails, st.file_uploader no longer copies its value: item 2 can go."""
    monkeypatch.delattr(UploadedFile, "__deepcopy__", raising=False)
    at = uploaded(b"t,x\n0,1\n")
    assert at.session_state["returned_what_state_holds"] is False
    at.run()  # a rerun copies again
    assert at.session_state["returned_what_state_holds"] is False


def test_without_the_override_a_copy_is_the_whole_file_again(monkeypatch):
    """An upload shares the upload manager's bytes (copy-on-write); its deepcopy holds its own."""
    monkeypatch.delattr(UploadedFile, "__deepcopy__", raising=False)
    data = b"x" * 2**20
    upload = UploadedFile(UploadedFileRec("id", "log.csv", "text/csv", data), None)
    assert upload.getvalue() is data
    copied = copy.deepcopy(upload)
    assert copied is not upload
    assert copied.getvalue() is not data
    assert len(copied.getvalue()) == len(data)


def test_with_the_override_the_upload_comes_back_uncopied():
    at = uploaded(b"t,x\n0,1\n")
    assert at.session_state["returned_what_state_holds"] is True
    at.run()
    assert at.session_state["returned_what_state_holds"] is True
    upload = UploadedFile(UploadedFileRec("id", "log.csv", "text/csv", b"t,x\n"), None)
    assert copy.deepcopy(upload) is upload
