"""GMM blocks: scores equal LiteRT's reference interpreter invoked row by row, bit for bit; block
directories, the metadata alone, and the mixture are read and refused as they should be."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType
from sklearn.mixture import GaussianMixture

from ei_anomaly import MetadataError, load_metadata
from ei_anomaly.blocks import BlockFiles, BlockKind, block_files_from_uploads, build_block, read_block_dir
from ei_anomaly.blocks.gmm import GmmBlock, parse_gmm
from ei_anomaly.demo import ANOMALY_SESSION_CSV, GMM_DEMO_DIR, load_demo_gmm_model
from ei_anomaly.litert_scoring import BLOCK_ROWS, ReferenceScorer
from scripts.gmm_tflite import gmm_scorer_tflite


def reference_row_by_row(tflite: bytes, rows: np.ndarray) -> np.ndarray:
    """LiteRT's own reference interpreter, one invoke per row, as Studio's classify job runs it."""
    interp = Interpreter(model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    i_in, i_out = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    out = []
    for row in np.asarray(rows, np.float32):
        interp.set_tensor(i_in, row[None, :])
        interp.invoke()
        out.append(interp.get_tensor(i_out)[0, 0])
    return np.asarray(out, np.float32)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float32 and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.fixture(scope="module")
def gmm_model() -> GmmBlock:
    model = load_demo_gmm_model()
    assert isinstance(model, GmmBlock)
    return model


def test_demo_block_scores_equal_the_reference_interpreter_bit_for_bit(gmm_model):
    frame = pd.read_csv(ANOMALY_SESSION_CSV)
    full = frame.drop(columns="timestamp").to_numpy(np.float64)
    scores = gmm_model.score_full(full)
    ok = scores.scorable
    assert ok.sum() == len(full) - 3  # three sensor dropouts
    want = reference_row_by_row(gmm_model.tflite, full[ok][:, gmm_model.axes])
    assert same_bits(scores.score[ok], want)
    assert gmm_model.scorer.scores_in_blocks is True  # the demo graph takes a block of rows


def test_random_inputs_over_several_blocks_equal_the_reference(gmm_model):
    rng = np.random.default_rng(3)
    n = BLOCK_ROWS * 2 + 77  # two full blocks and a padded one
    typical = np.asarray(gmm_model.gmm.means[rng.integers(0, gmm_model.n_components, n)])
    rows = typical + rng.normal(size=typical.shape) * rng.choice([0.01, 0.3, 3.0, 100.0], size=(n, 1))
    rows[:50] = rng.uniform(-1e4, 1e4, size=(50, 3))  # far outside everything
    scores = gmm_model.score_axes(rows)
    assert scores.scorable.all()
    assert same_bits(scores.score, reference_row_by_row(gmm_model.tflite, rows))


def test_a_graph_with_a_fixed_batch_of_one_is_scored_row_by_row():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 2)) * [1.0, 3.0]
    gmm = GaussianMixture(3, covariance_type="full", random_state=0).fit(x)
    ll = gmm.score_samples(x)
    fixed = gmm_scorer_tflite(gmm, float(ll.mean()), float(ll.std()), batchable=False)
    scorer = ReferenceScorer(fixed)
    got = scorer.score(x)
    assert scorer.scores_in_blocks is False
    assert same_bits(got, reference_row_by_row(fixed, x))
    # and the graph computes what Studio's scorer does (float32 vs float64: close, not equal)
    np.testing.assert_allclose(got, np.abs((ll - ll.mean()) / ll.std()), rtol=1e-4, atol=1e-4)


def test_rows_with_missing_values_are_unscorable_and_never_flagged(gmm_model):
    rows = np.array([[0.5, 0.5, 9.8], [np.nan, 0.5, 9.8], [0.5, np.inf, 9.8]])
    scores = gmm_model.score_axes(rows)
    assert scores.scorable.tolist() == [True, False, False]
    assert scores.nearest_cluster[1:].tolist() == [-1, -1]
    assert scores.is_anomaly(-1.0).tolist() == [True, False, False]


def test_most_likely_component_follows_the_means(gmm_model):
    means = gmm_model.gmm.means
    assert gmm_model.score_axes(means).nearest_cluster.tolist() == list(range(gmm_model.n_components))


def test_the_model_pickles_without_its_interpreter(gmm_model):
    rows = gmm_model.gmm.means + 0.1
    gmm_model.score_axes(rows)
    copy = pickle.loads(pickle.dumps(gmm_model))
    assert copy.fingerprint == gmm_model.fingerprint
    assert same_bits(copy.score_axes(rows).score, gmm_model.score_axes(rows).score)


def test_the_block_directory_gives_the_gmm_model_with_labels(gmm_model):
    assert gmm_model.kind is BlockKind.GMM
    assert gmm_model.axis_labels == ["accX RMS", "accY RMS", "accZ RMS"]
    # a sibling of the K-means block, not a subclass: no clusters, no feature scaler to call by mistake
    assert gmm_model.units.text == "8 components" and gmm_model.has_scaled_space is False
    assert not hasattr(gmm_model, "centers") and not hasattr(gmm_model, "to_original")
    mean, scale = gmm_model.log_likelihood_scaler
    assert mean is not None and scale is not None and scale > 0
    assert gmm_model.default_threshold == gmm_model.metadata.thresholds[0].value


def test_the_metadata_alone_says_to_give_the_block_directory():
    with pytest.raises(MetadataError, match="GMM block's metadata.*block directory"):
        load_metadata(GMM_DEMO_DIR / "metadata.json")


def test_missing_or_wrong_parts_of_a_block_directory_are_named(tmp_path):
    for name in ("metadata.json", "gmm.json"):
        shutil.copy(GMM_DEMO_DIR / name, tmp_path / name)
    with pytest.raises(MetadataError, match=r"model\.tflite"):
        load_metadata(tmp_path)
    (tmp_path / "model.tflite").write_bytes(b"not a model at all")
    with pytest.raises(MetadataError, match="not a TFLite file"):
        load_metadata(tmp_path)
    x = np.random.default_rng(0).normal(size=(100, 2))
    two_axes = GaussianMixture(2, covariance_type="full", random_state=0).fit(x)
    (tmp_path / "model.tflite").write_bytes(gmm_scorer_tflite(two_axes, 0.0, 1.0))
    with pytest.raises(MetadataError, match="takes 2 values but the block has 3 axes"):
        load_metadata(tmp_path)
    (tmp_path / "metadata.json").unlink()
    with pytest.raises(MetadataError, match="has no metadata.json"):
        load_metadata(tmp_path)


def test_a_write_read_round_trip_keeps_every_byte(tmp_path):
    files = read_block_dir(GMM_DEMO_DIR)
    assert files.kind is BlockKind.GMM
    files.write(tmp_path / "copy")
    again = read_block_dir(tmp_path / "copy")
    assert again == files
    assert (tmp_path / "copy" / "model.tflite").read_bytes() == (GMM_DEMO_DIR / "model.tflite").read_bytes()


def test_uploaded_files_make_a_block_by_their_names():
    uploads = {p.name: p.read_bytes() for p in GMM_DEMO_DIR.iterdir() if p.name != "anomaly_config.json"}
    assert block_files_from_uploads(uploads).kind is BlockKind.GMM
    only = {"any-name.json": (GMM_DEMO_DIR.parent / "metadata.json").read_bytes()}
    assert block_files_from_uploads(only).kind is BlockKind.KMEANS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g.update(weights=[]), "no components"),
        (lambda g: g.update(means=g["means"][:-1]), "`means` has shape"),
        (lambda g: g.update(covariances=[c[:2] for c in g["covariances"]]), "`covariances` has shape"),
        (lambda g: g["weights"].__setitem__(0, -0.1), r"`weights\[0\]` is not positive"),
        (lambda g: g["covariances"][0][0].__setitem__(0, -5.0), "not positive definite"),
        (lambda g: g.update(weights="many"), "weights"),
    ],
)
def test_a_broken_mixture_is_a_metadata_error_naming_the_field(change, message):
    answer = json.loads((GMM_DEMO_DIR / "gmm.json").read_text())
    change(answer)
    with pytest.raises(MetadataError, match=message):
        parse_gmm(answer, 3)


def test_kmeans_blocks_are_read_as_before(demo_model, demo_dir):
    assert load_metadata(demo_dir).kind is BlockKind.KMEANS  # the demo folder is a block directory too
    assert (
        build_block(BlockFiles(json.loads((demo_dir / "metadata.json").read_text()))).fingerprint
        == demo_model.fingerprint
    )


def test_the_batch_scorer_carries_a_gmm_block_to_its_workers(gmm_model):
    from ei_anomaly.batch import BatchScorer

    frame = pd.read_csv(ANOMALY_SESSION_CSV)
    scorer = BatchScorer.for_sample(GMM_DEMO_DIR, frame.head(100))
    shipped = pickle.loads(pickle.dumps(scorer))
    assert len(pickle.dumps(scorer)) < 20_000
    out = shipped(frame)
    want = gmm_model.score_full(frame.drop(columns="timestamp").to_numpy())
    assert np.array_equal(out["anomaly_score"].to_numpy(np.float32, na_value=np.nan), want.score, equal_nan=True)
    assert out["is_anomaly"].fillna(False).tolist() == want.is_anomaly(gmm_model.default_threshold).tolist()
