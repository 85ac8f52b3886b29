"""The server's memory, shared fairly between visitors (issue 27): what each holds (models uploaded
or fetched, scored files, computed views such as the fleet log) counts in one bounded store, each
visitor within a share; one visitor's uploads cannot evict another's work; what was released and
why is said on the page; a refused file is not parsed again on every page switch."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap

from components import loaders, state
from ei_anomaly.demo import GMM_DEMO_DIR
from tests.support.apptest import LOCAL_API_SETTINGS, choose_api_source, goto, no_problems, start_app
from tests.support.constants import API_KEY, tiny_metadata


def held_by(at) -> tuple[int, int]:
    """(entries, bytes) this visitor holds in the server's store."""
    return loaders.held().owned(at.session_state[state.HELD_TOKEN])


def test_one_visitor_cannot_evict_another_visitors_work(app, use_json_source, upload_demo_csv, monkeypatch):
    """Item 8: 33 small metadata uploads evicted everyone else's uploads (the store's 32-item bound
    was shared by all). Here a store of 6 items, 3 a visitor."""
    monkeypatch.setenv("ANOMALY_LENS_MAX_HELD_ITEMS", "6")
    monkeypatch.setenv("ANOMALY_LENS_MAX_HELD_ITEMS_PER_VISITOR", "3")
    bob = upload_demo_csv(app())
    bobs = held_by(bob)[0]
    assert bobs >= 2  # his opened and scored file (and what his page computed, such as the normal windows)
    alice = app()
    for i in range(7):
        alice = use_json_source(alice, json.dumps(tiny_metadata(defaultMinimumConfidenceRating=0.1 * i)).encode())
        no_problems(alice)
    assert held_by(alice)[0] <= 3
    notices = " ".join(i.value for i in alice.info)
    assert "released" in notices and "more than one visitor may" in notices
    bob.run()
    no_problems(bob)
    assert held_by(bob)[0] == bobs
    assert not any("was released" in i.value for i in bob.info)


def test_a_gmm_blocks_model_worker_counts_in_the_store(app, use_json_source):
    """Item 1: the store counted an uploaded block as a few times its files; its interpreter held
    3 GB for a block of rows. Now the model's worker and its tensors count too."""
    from ei_anomaly.litert_scoring import WORKER_BASE_BYTES

    at = use_json_source(app(), (GMM_DEMO_DIR / "metadata.json").read_bytes())
    files = [(p.name, p.read_bytes(), "application/octet-stream") for p in GMM_DEMO_DIR.iterdir()]
    at.file_uploader(key=state.GMM_FILES).set_value([f for f in files if f[0] in ("gmm.json", "model.tflite")])
    at = goto(at.run(), "overview")
    no_problems(at)
    entries, size = held_by(at)
    assert entries == 1 and size > WORKER_BASE_BYTES


def test_a_model_fetched_from_the_api_counts_in_the_store(app, served_api):
    """Item 1: models fetched from a (custom) base URL were kept outside the store's bound."""
    at = choose_api_source(start_app(LOCAL_API_SETTINGS), served_api, API_KEY)
    no_problems(at)
    entries, size = held_by(at)
    assert entries == 1 and size > 100_000


def test_the_fleet_pages_log_counts_in_the_store(app):
    """Item 4: the Fleet page kept its log (3.5 GB for a million devices) in the session, outside the bound."""
    at = goto(app(), "fleet")
    no_problems(at)
    assert held_by(at)[0] == 1  # the demo fleet log, as built for this visitor's columns
    assert held_by(at)[1] > 15_552 * 20  # its windows' scores, times and order at least


def test_a_refused_file_is_not_parsed_again_on_each_run(app, use_json_source, monkeypatch):
    """Item 7: a refusal was not remembered: every page switch paid the parse again."""
    calls = []
    parse = loaders.load_metadata

    def counted(data):
        calls.append(len(data))
        return parse(data)

    monkeypatch.setattr(loaders, "load_metadata", counted)
    at = use_json_source(app(), (GMM_DEMO_DIR / "metadata.json").read_bytes())  # a GMM block's metadata alone
    assert any("block directory" in e.value for e in at.error)
    for page in ("overview", "clusters", "thresholds"):
        at = goto(at, page)
    assert len(calls) == 1


def test_the_warm_up_thread_imports_nothing():
    """Item 15: once in about 25 fresh starts, the kernel warm-up thread's import of
    `ei_anomaly.alarms.kernels` raced a page's import (`ei_anomaly.alarms.simulate` partially
    initialised). The thread now only calls what the script thread imported."""
    source = textwrap.dedent(inspect.getsource(loaders._warm_up_kernels))
    assert not [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert loaders.alarm_kernels.__name__ == "ei_anomaly.alarms.kernels"
