"""Feature files: CSV dialects, column mapping, unscorable rows, nothing dropped."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from ei_anomaly import FeatureFileError, load_metadata
from ei_anomaly.features import axis_matrix, map_columns, read_feature_file, score_table, scored_table
from tests.support.constants import tiny_metadata

NAMES = {0: "accX RMS", 1: "accY RMS", 2: "accZ RMS"}


def scored_frame(table, scores, threshold):
    return scored_table(table, scores, threshold).to_pandas()


@pytest.fixture
def named_model():
    return load_metadata(tiny_metadata(), NAMES)


def scores_of(data: bytes, model):
    table = read_feature_file(data)
    mapping = map_columns(table, model)
    return table, mapping, score_table(table, model, mapping)


# Four columns: a full feature vector for axes [2, 0, 1] (three would be read as the axes).
ROWS = [[1.0, 3.0, 0.0, 7.0], [0.5, 1.5, 2.0, 7.0], [4.0, -2.0, 8.0, 7.0]]


def expected(model):
    return model.score(np.array(ROWS))


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c,d\n1,3,0,7\n0.5,1.5,2,7\n4,-2,8,7\n",
        "1,3,0,7\n0.5,1.5,2,7\n4,-2,8,7\n",
        "a;b;c;d\r\n1;3;0;7\r\n0,5;1,5;2;7\r\n4;-2;8;7\r\n",
        "\ufeffa,b,c,d\n1,3,0,7\n0.5,1.5,2,7\n4,-2,8,7\n",
        'a,"b, with comma",c,d\n"1","3",0,7\n0.5,"1.5",2,7\n4,-2,8,7\n',
        "a\tb\tc\td\n1\t3\t0\t7\n0.5\t1.5\t2\t7\n4\t-2\t8\t7",
    ],
    ids=["header", "no-header", "semicolon-decimal-comma-crlf", "bom", "quoted", "tab"],
)
def test_dialects_give_the_same_scores(text, tiny_model):
    table, _mapping, scores = scores_of(text.encode("utf-8"), tiny_model)
    assert table.n_rows == 3
    np.testing.assert_array_equal(scores.score, expected(tiny_model))


def test_bom_does_not_end_up_in_the_first_column_name(tiny_model):
    table = read_feature_file("\ufeffaccX,b,c\n1,2,3\n".encode())
    assert table.columns[0] == "accX"


def test_columns_named_after_axis_labels_map_by_name_in_any_order(named_model):
    frame = pd.DataFrame([r[:3] for r in ROWS], columns=["accX RMS", "accY RMS", "accZ RMS"])
    frame.insert(0, "label", ["idle", "wave", "snake"])
    frame = frame[["accZ RMS", "label", "accX RMS", "accY RMS"]]
    _table, mapping, scores = scores_of(frame.to_csv(index=False).encode(), named_model)
    assert mapping.how == "matched by axis name"
    assert mapping.columns == ["accZ RMS", "accX RMS", "accY RMS"]  # axes [2, 0, 1]
    np.testing.assert_array_equal(scores.score, expected(named_model))


def test_full_feature_vector_with_text_columns_passed_through(tiny_model):
    text = "time,f0,f1,f2,f3,label\n2026-01-01T00:00:00,1,3,0,9,idle\nt2,0.5,1.5,2,9,wave\nt3,4,-2,8,9,x\n"
    table, mapping, scores = scores_of(text.encode(), tiny_model)
    assert table.numeric_columns == ["f0", "f1", "f2", "f3"]
    assert mapping.columns == ["f2", "f0", "f1"]
    np.testing.assert_array_equal(scores.score, expected(tiny_model))
    out = scored_frame(table, scores, 0.4)
    assert list(out.columns) == [
        "time",
        "f0",
        "f1",
        "f2",
        "f3",
        "label",
        "anomaly_score",
        "nearest_cluster",
        "is_anomaly",
    ]
    assert out["time"].tolist()[0] == "2026-01-01T00:00:00"


def test_exactly_as_many_numeric_columns_as_axes_are_the_axes_in_order():
    model = load_metadata(tiny_metadata(axes=[20, 3, 11]))
    _table, mapping, scores = scores_of(b"p,q,r\n0,1,2\n", model)
    assert mapping.how == "numeric columns are the axes, in order"
    assert mapping.columns == ["p", "q", "r"]
    assert scores.score[0] == pytest.approx(-0.5)


def test_too_few_columns_says_what_is_missing():
    model = load_metadata(tiny_metadata(axes=[0, 11, 22]))
    data = ",".join(f"f{i}" for i in range(12)).encode() + b"\n" + b",".join([b"1"] * 12)
    with pytest.raises(FeatureFileError, match="needs feature 22 .* has 12 numeric columns"):
        scores_of(data, model)


def test_bad_cells_make_rows_unscorable_but_keep_them(tiny_model):
    text = "a,b,c,d,note\n1,3,0,7,ok\n,1.5,2,7,empty\n4,oops,8,7,text\n1,3,0,7,ok\n"
    table, mapping, scores = scores_of(text.encode(), tiny_model)
    assert mapping.columns == ["c", "a", "b"]
    assert scores.scorable.tolist() == [True, False, False, True]
    out = scored_frame(table, scores, 0.4)
    assert len(out) == 4
    assert out["b"].tolist()[2] == "oops"  # the user's cell is kept as written
    assert out["anomaly_score"].isna().tolist() == [False, True, True, False]
    assert out["is_anomaly"].isna().tolist() == [False, True, True, False]
    assert out["nearest_cluster"].isna().tolist() == [False, True, True, False]


def test_earlier_result_columns_are_replaced_not_kept_stale(tiny_model):
    table, _mapping, scores = scores_of(b"a,b,c,d,anomaly_score,anomaly_score_1\n1,3,0,7,x,9\n", tiny_model)
    out = scored_frame(table, scores, 0.4)
    assert out["anomaly_score"].tolist() == [pytest.approx(scores.score[0])]
    assert "anomaly_score_1" not in out.columns
    assert any("anomaly_score, anomaly_score_1" in note for note in table.notes)


def test_manual_mapping_overrides(tiny_model):
    table = read_feature_file(b"a,b,c,d\n1,3,0,5\n")
    mapping = map_columns(table, tiny_model, override={0: "d"})
    assert mapping.columns == ["d", "a", "b"]
    assert mapping.how == "chosen by hand"
    with pytest.raises(FeatureFileError, match="no column named 'zz'"):
        map_columns(table, tiny_model, override={0: "zz"})


def test_parquet_files_are_read(tiny_model):
    buf = io.BytesIO()
    pd.DataFrame(ROWS, columns=["w", "x", "y", "z"]).to_parquet(buf)
    _table, _mapping, scores = scores_of(buf.getvalue(), tiny_model)
    np.testing.assert_array_equal(scores.score, expected(tiny_model))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"a,b,c\n", "header but no rows"),
        (b"a,b,c\n1,2,3\n4,5,6,7\n", "cannot parse the CSV"),
        (b"a,b,c\n" + b"1,2,3\n" * 20_000 + b"\xff\xfe,5,6\n", "not UTF-8"),  # beyond the sample
        (b"PAR1garbage", "cannot read the Parquet file"),
    ],
)
def test_unreadable_files_get_a_clear_message(data, message):
    with pytest.raises(FeatureFileError, match=message):
        read_feature_file(data)


def test_demo_sample_files(demo_model, demo_dir):
    table = read_feature_file(demo_dir / "session_with_anomalies.csv")
    mapping = map_columns(table, demo_model)
    assert mapping.how == "matched by axis name"
    scores = score_table(table, demo_model, mapping)
    assert scores.unscorable_count == 3
    assert 20 < scores.count_anomalies(demo_model.default_threshold) < table.n_rows // 2
    normal = read_feature_file(demo_dir / "normal_session.csv")
    normal_scores = score_table(normal, demo_model, map_columns(normal, demo_model))
    assert normal_scores.count_anomalies(demo_model.default_threshold) < normal.n_rows * 0.02


def test_axis_matrix_is_float32(tiny_model):
    table = read_feature_file(b"a,b,c\n1,2,3\n")
    assert axis_matrix(table, map_columns(table, tiny_model)).dtype == np.float32


def test_a_decimal_comma_column_with_one_bad_cell_keeps_its_numbers_and_the_mapping(demo_model):
    """`;` + decimal comma: a text cell far down turned the column into text, which no longer
    counted as numeric, so the mapping silently changed and every score was wrong."""
    rng = np.random.default_rng(4)
    values = rng.normal(1.5, 0.5, (3000, 23)).round(4)
    lines = [";".join(f"f{j}" for j in range(23))]
    lines += [";".join(f"{v:.4f}".replace(".", ",") for v in row) for row in values]
    clean = "\r\n".join(lines).encode()
    lines[2500] = lines[2500].replace(lines[2500].split(";")[0], "oops", 1)
    dirty = "\r\n".join(lines).encode()
    good, bad = read_feature_file(clean, "clean.csv"), read_feature_file(dirty, "dirty.csv")
    assert bad.numeric_columns == good.numeric_columns
    mapping = map_columns(bad, demo_model)
    assert mapping.columns == map_columns(good, demo_model).columns
    scores, reference = score_table(bad, demo_model, mapping), score_table(good, demo_model, mapping)
    assert scores.unscorable_count == 1 and not scores.scorable[2499]
    keep = np.arange(3000) != 2499
    assert np.array_equal(scores.score[keep], reference.score[keep])


def test_reading_some_columns_of_a_parquet_file_with_a_repeated_name():
    """Names are made unique on reading (`a`, `a.1`); asking for `a.1` must give the second `a`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(
        pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array(["x", "y"])], names=["a", "a", "t"]), buffer
    )
    table = read_feature_file(buffer.getvalue(), "f.parquet", columns=["t", "a.1"])
    assert table.columns == ["t", "a.1"] and table.table.column("a.1").to_pylist() == [3.0, 4.0]
    assert table.all_columns == ["a", "a.1", "t"]
    assert read_feature_file(buffer.getvalue(), "f.parquet", columns=["t"]).columns == ["t"]
