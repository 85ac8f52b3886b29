"""Every page on a GMM block (the demo's, the local API's, uploaded files) through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from ei_anomaly.demo import ANOMALY_SESSION_CSV, GMM_DEMO_BLOCK_ID, GMM_DEMO_DIR, load_demo_gmm_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.apptest import charts, goto, metric, no_problems
from tests.support.constants import API_KEY

PAGES = {
    "overview": 0,
    "clusters": 1,  # ellipse map; the 3-D view and parallel coordinates are drawn on request
    "validation": 2,  # confusion matrix, scores per label
    "on_device": 3,  # latency, RAM, flash
    "thresholds": 4,  # histogram, PR curve, confusion matrix, the false-alarm bound
    "scoring": 0,  # nothing uploaded yet
}


def on_gmm_demo(at: AppTest) -> AppTest:
    at.selectbox(key="demo_block").set_value(GMM_DEMO_BLOCK_ID)
    return at.run()


@pytest.mark.parametrize(("page", "n_charts"), PAGES.items())
def test_every_page_renders_on_the_gmm_demo_block(page, n_charts, app):
    at = goto(on_gmm_demo(app()), page)
    no_problems(at)
    assert len(charts(at)) == n_charts


def test_the_gmm_webgl_views_are_drawn_on_request(app):
    """As for K-means: the components' 3-D view and parallel coordinates (WebGL) wait for a toggle."""
    at = goto(on_gmm_demo(app()), "clusters")
    at.toggle(key=state.CLUSTERS_3D_SHOW).set_value(True).run()
    at.toggle(key=state.CLUSTERS_PARALLEL_SHOW).set_value(True).run()
    no_problems(at)
    assert [c.key for c in charts(at)] == ["cluster_map", "cluster_3d", "cluster_parallel"]  # one page, both kinds


def test_the_overview_says_what_a_gmm_block_is(app):
    at = on_gmm_demo(app())
    no_problems(at)
    assert metric(at, "Components") == "8"
    assert metric(at, "Anomaly threshold") == "2.05"
    assert "GMM · 8 components" in " ".join(c.value for c in at.sidebar.caption)
    assert any("score = | (ll - mean) / scale |" in c.value for c in at.code)


def test_the_clusters_page_draws_components_as_ellipses(app):
    at = goto(on_gmm_demo(app()), "clusters")
    map_figure = charts(at)[0].proto.spec
    assert "1 standard deviation" in map_figure and "3 standard deviations" in map_figure
    assert "trained windows" in map_figure
    assert len(at.dataframe[0].value) == 8  # the component table


def test_scoring_a_file_with_the_gmm_block_counts_what_the_core_counts(app):
    at = goto(on_gmm_demo(app()), "scoring")
    at.file_uploader[0].set_value(("session.csv", ANOMALY_SESSION_CSV.read_bytes(), "text/csv"))
    at = at.run()
    no_problems(at)
    model = load_demo_gmm_model()
    table = read_feature_file(ANOMALY_SESSION_CSV)
    want = score_table(table, model, map_columns(table, model)).count_anomalies(model.default_threshold)
    assert int(metric(at, "Anomalies").split()[0].replace(",", "")) == want
    assert any("most likely component" in d.value.columns for d in at.dataframe)
    at = goto(at, "clusters")  # the upload is drawn over the components
    no_problems(at)
    assert "your upload" in charts(at)[0].proto.spec


def test_uploaded_block_files_open_the_gmm_block(app, use_json_source):
    at = use_json_source(app(), (GMM_DEMO_DIR / "metadata.json").read_bytes())
    assert at.error and "GMM block" in at.error[0].value  # the metadata alone cannot be scored
    files = [(n, (GMM_DEMO_DIR / n).read_bytes(), "application/octet-stream") for n in ("gmm.json", "model.tflite")]
    at.file_uploader(key="gmm_block_files").set_value(files)
    at = at.run()
    no_problems(at)
    assert metric(at, "Components") == "8"


def test_the_api_source_lists_the_gmm_block_with_its_kind(app, use_api, served_api):
    from tests.support.apptest import LOCAL_API_SETTINGS

    at = use_api(app(LOCAL_API_SETTINGS), served_api, API_KEY)
    picker = at.selectbox(key="ei_block")
    assert picker.options == [
        "Anomaly detection · K-means (#4)",
        "Anomaly detection (GMM) · GMM (#5)",
    ]
    picker.set_value(GMM_DEMO_BLOCK_ID)
    at = goto(at.run(), "thresholds")
    no_problems(at)
    assert at.slider[0].value == pytest.approx(2.05)


def test_compare_the_demo_blocks_on_their_shared_validation_windows(app):
    from ei_anomaly.demo import load_demo_model
    from ei_anomaly.review import compare_blocks, shared_validation_windows

    at = goto(app(), "compare")
    no_problems(at)
    # two confusion matrices, the overlaid precision-recall curves, the alarm curves on the demo fleet log
    assert len(charts(at)) == 4
    a, b = load_demo_model(), load_demo_gmm_model()
    want = compare_blocks(("A", a), ("B", b), shared_validation_windows(a, b)).agreement
    shown = {m.label: int(m.value.replace(",", "")) for m in at.metric if m.label in want}
    assert shown == want
    pr = charts(at)[2].proto.spec
    assert "its threshold 0.3" in pr and "its threshold 2.05" in pr
    at.number_input(key="compare_false_alarm_rate").set_value(5.0).run()
    no_problems(at)
    assert any("5.0%" in m.value for m in at.markdown)


def test_compare_with_uploaded_block_files(app):
    at = goto(app(), "compare")
    at.radio(key="compare_source").set_value("Block files (e.g. before and after retraining)").run()
    assert at.info and "Upload block B" in at.info[0].value
    files = [
        (n, (GMM_DEMO_DIR / n).read_bytes(), "application/octet-stream")
        for n in ("metadata.json", "gmm.json", "model.tflite")
    ]
    at.file_uploader(key="compare_files").set_value(files).run()
    no_problems(at)
    assert len(charts(at)) == 4  # and the alarm curves on the demo fleet log


def test_compare_on_an_upload_with_a_label_column(app):
    import numpy as np
    import pandas as pd

    from ei_anomaly.demo import ANOMALY_KINDS, ANOMALY_SESSION_SEGMENTS, load_demo_model

    frame = pd.read_csv(ANOMALY_SESSION_CSV)
    frame["motion"] = [kind for kind, n in ANOMALY_SESSION_SEGMENTS for _ in range(n)]
    at = goto(app(), "scoring")
    at.file_uploader[0].set_value(("labelled.csv", frame.to_csv(index=False).encode(), "text/csv"))
    at = goto(at.run(), "compare")
    at.radio(key="compare_labelled_source").set_value("Your last upload, with a label column").run()
    at.selectbox(key="compare_label_column").set_value("motion").run()
    at.multiselect(key="compare_anomaly_labels").set_value(list(ANOMALY_KINDS)).run()
    no_problems(at)
    assert len(charts(at)) == 4  # and the alarm curves on the demo fleet log
    features = frame.drop(columns=["timestamp", "motion"]).to_numpy()
    a, b = load_demo_model().score_full(features), load_demo_gmm_model().score_full(features)
    ok = a.scorable & b.scorable
    fa, fb = a.is_anomaly(0.3)[ok], b.is_anomaly(2.05)[ok]
    shown = {m.label: int(m.value.replace(",", "")) for m in at.metric if m.label in ("only A flags", "only B flags")}
    assert shown == {"only A flags": int(np.sum(fa & ~fb)), "only B flags": int(np.sum(~fa & fb))}
    assert any("592 labelled rows of labelled.csv" in c.value.replace("\\", "") for c in at.caption)


def test_compare_two_blocks_of_a_project_on_studios_model_testing(app, use_api, served_api):
    from tests.support.apptest import LOCAL_API_SETTINGS

    at = goto(use_api(app(LOCAL_API_SETTINGS), served_api, API_KEY), "compare")
    no_problems(at)
    judged_on = at.radio(key="compare_labelled_source")
    assert judged_on.options == ["Validation windows of the same samples", "Studio's model-testing results"]
    judged_on.set_value("Studio's model-testing results").run()
    no_problems(at)
    assert len(charts(at)) == 3  # no fleet log on this project yet
    assert any("windows of Studio's model-testing results" in c.value.replace("\\", "") for c in at.caption)
