"""The HTML report of a GMM block: its components, its score definition, its scores."""

from __future__ import annotations

from ei_anomaly.demo import ANOMALY_SESSION_CSV, GMM_DEMO_DIR, load_demo_gmm_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.cli import run_cli


def test_report_of_the_gmm_block_from_its_directory(tmp_path):
    out = tmp_path / "gmm.html"
    proc = run_cli("report", GMM_DEMO_DIR, "--features", ANOMALY_SESSION_CSV, "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "A GMM anomaly model with <strong>8 components" in html
    assert "K-means anomaly model" not in html and "maxError" not in html
    assert "3 standard deviations" in html and "LiteRT&#39;s reference interpreter" in html
    model = load_demo_gmm_model()
    table = read_feature_file(ANOMALY_SESSION_CSV)
    flagged = score_table(table, model, map_columns(table, model)).count_anomalies(model.default_threshold)
    assert f"{flagged} anomalies (score &gt; 2.05)" in proc.stderr.replace(">", "&gt;")


def test_report_compare_writes_one_offline_file_of_both_blocks(tmp_path, demo_dir):
    out = tmp_path / "compare.html"
    args = ["report", demo_dir, "--compare", GMM_DEMO_DIR, "-o", out]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "330 validation windows both blocks were validated on" in proc.stderr
    html = out.read_text()
    assert "A: demo (K-means)" in html and "B: gmm (GMM)" in html
    assert "Recall at a matched false-alarm rate" in html and "On-device cost per MCU" in html
    assert "<script src=" not in html and "https://" not in html.split("<script>")[0]
    # one review holds every section: the comparison and a scored file together
    proc = run_cli(*args, "--features", ANOMALY_SESSION_CSV)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert '<section id="compare">' in html and '<section id="scoring">' in html
