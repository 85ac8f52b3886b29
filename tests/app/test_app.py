"""Every page through Streamlit's AppTest: demo, JSON upload and a live API source (local server)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ei_anomaly.demo import load_demo_model
from ei_anomaly.evaluation import predictions_frame
from ei_anomaly.review import SourceKind, shown_metrics
from tests.support.apptest import LOCAL_API_SETTINGS, TIMEOUT, charts, expected_anomalies, goto, metric, no_problems
from tests.support.constants import API_KEY, ROOT

PAGES = {
    "overview": 0,
    "clusters": 1,  # 2-D map; the 3-D view and parallel coordinates are drawn on request
    "validation": 2,  # confusion matrix, scores per label
    "on_device": 3,  # latency, RAM, flash
    "thresholds": 4,  # histogram, PR curve, confusion matrix, the false-alarm bound
}


@pytest.mark.parametrize(("page", "n_charts"), PAGES.items())
def test_every_page_renders_on_the_demo(page, n_charts, app):
    at = goto(app(), page)
    no_problems(at)
    assert len(charts(at)) == n_charts
    assert at.sidebar.radio[0].value == SourceKind.DEMO


def test_overview_is_a_model_card(app):
    at = app()
    no_problems(at)
    assert metric(at, "Clusters") == "32"
    assert metric(at, "Axes") == "3"
    assert metric(at, "Anomaly threshold") == "0.3"
    assert [b.label for b in at.get("download_button")] == ["Download metadata JSON", "Download this view"]
    assert "32 clusters" in " ".join(c.value for c in at.sidebar.caption)


def test_pages_run_on_their_own():
    at = AppTest.from_file(str(ROOT / "pages" / "thresholds.py"), default_timeout=TIMEOUT).run()
    no_problems(at)
    assert len(charts(at)) == 4


def flagged(at: AppTest) -> int:
    return int(metric(at, "Flagged as anomaly").split("/")[0].replace(",", ""))


def test_threshold_slider_changes_the_flagged_count_and_exports(app):
    at = goto(app(), "thresholds")
    slider = at.slider[0]
    assert slider.value == pytest.approx(0.3)
    before = flagged(at)
    slider.set_value(1.5).run()
    after = flagged(at)
    model = load_demo_model()
    scores = np.array([p.anomaly_scores[0][0] for p in model.metadata.model_validation_metrics[1].predictions])
    assert after == int(np.sum(scores > np.float32(1.5)))
    assert after < before
    assert any("min_anomaly_score=1.5" in c.value for c in at.code)
    at.button(key=next(b.key for b in at.button if b.key and b.key.endswith("::reset"))).click().run()
    assert at.slider[0].value == pytest.approx(0.05)  # the block's suggested value


def test_upload_produces_a_summary_and_threshold_is_shared(app, upload_demo_csv):
    at = upload_demo_csv(app())
    no_problems(at)
    assert metric(at, "Rows") == "595"
    assert metric(at, "Unscorable rows") == "3"
    assert metric(at, "Anomalies") == str(expected_anomalies(0.3))
    assert len(charts(at)) == 2
    at.slider[0].set_value(1.0).run()
    assert metric(at, "Anomalies") == str(expected_anomalies(1.0))
    at = goto(at, "thresholds")
    assert at.slider[0].value == pytest.approx(1.0)  # the value follows the user across pages
    at = goto(at, "clusters")
    names = [t["name"] for t in json.loads(charts(at)[0].proto.spec)["data"]]
    assert "your upload: anomalies" in names


def test_the_clusters_webgl_views_are_drawn_on_request(app):
    """The 3-D view and the parallel coordinates are WebGL (seconds without a GPU): a toggle each."""
    at = goto(app(), "clusters")
    assert [json.loads(c.proto.spec)["data"][0]["type"] for c in charts(at)] == ["scatter"]
    at.toggle(key=state.CLUSTERS_3D_SHOW).set_value(True).run()
    at.toggle(key=state.CLUSTERS_PARALLEL_SHOW).set_value(True).run()
    no_problems(at)
    types = {t["type"] for c in charts(at) for t in json.loads(c.proto.spec)["data"]}
    assert {"surface", "parcoords"} <= types and len(charts(at)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"a,b\n1,2\n", "needs feature 22"), (b"", "empty"), (b"x,y,z\n1,2\n3,4,5,6\n", "cannot parse")],
)
def test_bad_feature_files_get_an_error(content, message, app):
    at = goto(app(), "scoring")
    at.file_uploader[0].set_value(("bad.csv", content, "text/csv")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_bad_json_upload_shows_an_error_and_the_app_stays_usable(app, use_json_source):
    at = use_json_source(app(), b'{"scale": [1], "mean": [0, 1], "axes": [0], "clusters": []}')
    assert not at.exception
    assert any("`mean` has 2 values but `axes` has 1" in e.value for e in at.error)
    at.sidebar.radio[0].set_value(SourceKind.DEMO).run()
    no_problems(at)
    assert metric(at, "Clusters") == "32"


def test_json_upload_is_a_source_for_every_page(app, use_json_source):
    at = use_json_source(app(), (ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json").read_bytes())
    no_problems(at)
    assert metric(at, "Clusters") == "32"
    for page in PAGES:
        no_problems(goto(at, page))


def test_api_source_against_the_local_server(served_api, app, use_api):
    at = use_api(app(LOCAL_API_SETTINGS), served_api, API_KEY)
    no_problems(at)
    assert at.selectbox(key="ei_block").value == 4
    assert metric(at, "Clusters") == "32"
    for page, n_charts in PAGES.items():
        at = goto(at, page)
        no_problems(at)
        assert len(charts(at)) == n_charts
    at = goto(at, "clusters")
    names = [t["name"] for t in json.loads(charts(at)[0].proto.spec)["data"]]
    assert "trained windows" in names


def test_rejected_key_shows_an_error_without_the_key(served_api, app, use_api):
    secret = "ei_wrong_key_that_must_not_show_up"
    at = use_api(app(LOCAL_API_SETTINGS), served_api, secret)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("rejected" in e for e in errors), errors
    every_text = json.dumps([str(e.proto) for e in at.main] + [str(e.proto) for e in at.sidebar])
    assert secret not in every_text.replace(f'value: "{secret}"', "")  # only the password field holds it


def test_a_column_chosen_by_hand_survives_a_page_switch(app, upload_demo_csv):
    """Streamlit forgets a page's widgets when the visitor leaves it; the scored file's mapping must
    not silently fall back to the automatic one when they come back."""
    at = upload_demo_csv(app())
    axis = next(s for s in at.selectbox if s.label == "accX RMS")
    axis.set_value("accX Peak 1 Freq").run()
    before = metric(at, "Anomalies")
    at = goto(goto(at, "clusters"), "scoring")
    no_problems(at)
    assert next(s for s in at.selectbox if s.label == "accX RMS").value == "accX Peak 1 Freq"
    assert metric(at, "Anomalies") == before


def test_the_demo_block_is_recognised_from_its_metadata_whatever_the_source(app, use_json_source):
    """The demo's on-device figures are illustrative wherever they come from (they used to be
    marked only when the sidebar said "Demo project"), and a block of another model never is."""
    demo_json = (ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json").read_bytes()
    illustrative = "Demo figures are illustrative, not measured."
    at = use_json_source(app(), demo_json)
    no_problems(at)
    assert illustrative in [c.value for c in at.caption]
    on_device = goto(at, "on_device")
    assert any("illustrative" in w.value for w in on_device.warning)

    measured = json.loads(demo_json)
    measured["modelValidationMetrics"][0]["onDevicePerformance"][0]["latency"] += 1  # figures of its own
    at = use_json_source(app(), json.dumps(measured).encode())
    no_problems(at)
    assert illustrative not in [c.value for c in at.caption]
    assert not goto(at, "on_device").warning


def test_validation_filters_the_predictions_by_outcome(app):
    at = goto(app(), "validation")
    frame = predictions_frame(shown_metrics(load_demo_model().metadata))
    wrong = int((~frame["correct"]).sum())
    assert 0 < wrong < len(frame)
    for outcome, count in (("incorrect", wrong), ("correct", len(frame) - wrong), ("all", len(frame))):
        at.selectbox(key="validation_outcome").set_value(outcome).run()
        no_problems(at)
        assert f"{count} of {len(frame)} windows" in [c.value for c in at.caption]


def test_the_uploaders_accept_every_file_the_limits_accept():
    """Streamlit's uploader counts decimal megabytes: a cap of 32 refused the largest accepted
    model (31.5 MiB = 33.0 MB) in the browser before the app saw it."""
    from components.source import upload_limit_mb
    from ei_anomaly.limits import Limits

    limit = Limits.from_env().metadata_bytes
    assert upload_limit_mb(limit) * 1_000_000 >= limit
    assert upload_limit_mb(10**12) == 2048  # never above server.maxUploadSize
