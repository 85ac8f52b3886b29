"""The README is the front door: its two set-up commands stay exactly as they are, and every link
of the README and docs/ leads to a file and a heading that exist."""

from __future__ import annotations

import re

from scripts.check_links import broken_links, pages, slug
from tests.support.constants import ROOT

APP_COMMAND = "pip install -r requirements.txt && streamlit run app.py"
TEST_COMMAND = "pip install -r requirements-dev.txt && python -m pytest"


def test_the_readme_gives_the_two_set_up_commands_each_in_its_own_block():
    blocks = [b.strip() for b in re.findall(r"^```bash\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)]
    assert APP_COMMAND in blocks and TEST_COMMAND in blocks
    assert next(b for b in blocks if "pytest" in b) == TEST_COMMAND  # the one .ci/run must run
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pip install -q -r requirements-dev.txt" in ci and "\npython -m pytest\n" in ci


def test_every_link_of_the_readme_and_docs_leads_somewhere():
    assert len(pages()) > 5
    assert not [problem for page in pages() for problem in broken_links(page)]


def test_anchors_are_named_as_github_names_them():
    assert slug("How `score` streams") == "how-score-streams"
    assert slug("Share a review: one HTML file") == "share-a-review-one-html-file"
    assert slug("Batch scoring on Dask (fleet logs)") == "batch-scoring-on-dask-fleet-logs"
    assert slug("What was confirmed, and where") == "what-was-confirmed-and-where"


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Here it is\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[fine](other.md#here-it-is), [self](#page), [web](https://example.com/x),\n"
        "[gone](missing.md), [no such heading](other.md#elsewhere), [split\nlink](#nowhere)\n"
        "```\n[in code](missing-too.md)\n```\n`[inline](missing-three.md)`\n"
    )
    problems = broken_links(page)
    assert len(problems) == 3, problems
    assert problems[0].endswith("missing.md: no such file")
    assert "other.md#elsewhere: no heading #elsewhere" in problems[1]
    assert "#nowhere: no heading #nowhere in " in problems[2]
