"""The two places where the app overrides a Streamlit behaviour, and what each relies on.

Streamlit 1.67 offers no supported switch for either (no config option, no widget parameter; see
below), so both are workarounds on internal names. They live here and nowhere else, and
tests/app/test_streamlit_compat.py fails when a Streamlit upgrade changes what they rely on, in
either direction: the internal name is gone or means something else (the workaround would silently
stop working), or Streamlit no longer does what the workaround undoes (it can be deleted).

1. Pages-directory mode on a fresh server (`leave_pages_directory_mode`, called by every page)

   What Streamlit does: `streamlit.runtime.pages_manager.PagesManager.__init__` sets the class
   attribute `PagesManager.uses_pages_directory` to "is there a `pages/` folder next to the main
   script" if it is still None. `ScriptRunner._run_script` (runtime/scriptrunner/script_runner.py)
   then runs `_mpa_v1()` instead of the main script while it is true: the old multipage mode, which
   builds its own navigation from `pages/*.py` and runs the requested page file alone. Only
   `st.navigation()` sets the attribute to False (commands/navigation.py), for every session of
   the process ("If you call st.navigation in your app (in any session), ... the pages/ directory
   will be ignored across all sessions", docs: develop/concepts/multipage-apps/pages-directory).
   So until some session has run app.py, a request for a page URL (`/thresholds`) runs
   `pages/thresholds.py` without app.py: no sidebar data source, no error handler, no logo.

   Why the app cannot accept it: the first visitor after a deploy or restart often arrives by a
   link to a page. The `pages/` folder stays (it is the project's layout), and Streamlit has no
   config option to turn the old mode off (streamlit/config.py in 1.67: the only one about it is
   `client.showSidebarNavigation`, which hides the menu and does not change what runs).

   The workaround: at the top of each page run (`components.source.require_source`), if the
   attribute is still true, set it to False (what `st.navigation` would do a moment later anyway,
   process-wide) and `st.rerun()`. The rerun goes through app.py with the same URL, and
   st.navigation picks the requested page.

   Relies on: `PagesManager` importable from `streamlit.runtime.pages_manager`, its class
   attribute `uses_pages_directory` deciding `_mpa_v1` vs the main script, and `PagesManager()`
   leaving a False value alone. If the import fails, the function does nothing (the app still
   runs; deep links on a fresh server lose the sidebar) and the tests fail.

   Tests: the attribute exists, a new PagesManager sets it from the `pages/` folder and keeps a
   False; with the workaround disabled, a page URL first still runs the page alone (when that
   test fails, Streamlit has fixed it and the workaround can go); with it, the page comes with
   app.py's sidebar (AppTest, and tests/browser/test_browser.py's deep link on a fresh `streamlit run`).

2. Uploads are not deep-copied on every rerun (`keep_uploads_uncopied`, in force at import)

   What Streamlit does: `SessionState.register_widget` (runtime/state/session_state.py) returns
   `deepcopy(widget_value)` for every widget on every run, "so that reference types can't be
   accidentally mutated by user code". `UploadedFile` (runtime/uploaded_file_manager.py) is an
   `io.BytesIO` without a `__deepcopy__`, so the copy goes through BytesIO's pickling state and
   copies every byte: a 300 MB upload costs 300 MB more on every rerun, held while the script
   runs (the file is parsed then). Streamlit's own UploadedFile is already copy-on-write over the
   upload's bytes (streamlit/streamlit PR #2410); it is the deepcopy that breaks the sharing.
   Large uploads and memory are an open issue (streamlit/streamlit#9218), with no option to
   skip the copy: st.file_uploader has no such parameter, and the workarounds posted there
   drop the upload from the session, which the Scoring page needs across reruns.

   Why the app cannot accept it: the Scoring page takes fleet logs of hundreds of MB, on servers
   sized at 2-3x the file (see .streamlit/config.toml).

   The workaround: `UploadedFile.__deepcopy__` returns the upload itself, so st.file_uploader
   hands back the object session state holds, whose bytes are the upload manager's. The app never
   writes to an upload; it reads uploads as files (seek before reading), and a read moves the
   position of that one shared object.

   Relies on: `deepcopy` (hence `__deepcopy__`) being how register_widget copies a value, and
   UploadedFile not defining its own `__deepcopy__` (`STREAMLIT_UPLOAD_DEEPCOPY` records what was
   there before: None in 1.67). It is a class attribute, so one assignment per process is enough:
   it is made when this module is first imported, and components.source (imported by app.py and
   every page before any widget) and components.uploads import it.

   Tests: with the override removed, st.file_uploader returns a different object than session
   state holds, and a deepcopy of an upload holds its own copy of the bytes (when either stops
   being true, Streamlit no longer copies and the override can go); with it, the same object comes
   back through register_widget; and Streamlit still defines no `UploadedFile.__deepcopy__`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile


def _pages_manager() -> Any:
    """Streamlit's `PagesManager` class; None when it moved or is gone in a later Streamlit
    (tests/app/test_streamlit_compat.py says so)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return None
    return PagesManager


def leave_pages_directory_mode() -> None:
    """Item 1: if Streamlit is still in pages-directory mode, leave it and rerun through app.py.

    Call at the top of every page, before any widget; does nothing once app.py has run."""
    manager = _pages_manager()
    if manager is not None and getattr(manager, "uses_pages_directory", False):
        manager.uses_pages_directory = False
        st.rerun()


def _the_upload_itself(upload: UploadedFile, memo: dict[int, Any]) -> UploadedFile:
    return upload


def _streamlit_upload_deepcopy() -> Any:
    own = vars(UploadedFile).get("__deepcopy__")
    return None if own is _the_upload_itself else own


STREAMLIT_UPLOAD_DEEPCOPY = _streamlit_upload_deepcopy()


def keep_uploads_uncopied() -> None:
    """Item 2: widget values of type UploadedFile are handed back, not deep-copied. Idempotent."""
    setattr(UploadedFile, "__deepcopy__", _the_upload_itself)  # noqa: B010  (a class Streamlit types without it)


keep_uploads_uncopied()
