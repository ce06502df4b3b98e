"""Markdown and CSV rendering of analysis tables."""

import csv
import io
import math

from cpt_search.analysis.tables import Table, mean_pm_std


def test_markdown_formats_and_placeholders(tmp_path):
    table = Table(("name", "value", "flag"), (("a|b", 0.123456, True), ("c", None, False),
                                              ("d", math.nan, False)), ("", ".3f", ""))
    assert table.markdown().splitlines() == [
        "| name | value | flag |", "|---|---|---|", "| a\\|b | 0.123 | yes |", "| c | – |  |",
        "| d | – |  |"]
    rows = list(csv.reader(io.StringIO(table.csv())))
    assert rows == [["name", "value", "flag"], ["a|b", "0.123456", "True"], ["c", "", "False"],
                    ["d", "nan", "False"]]
    md, csv_path = table.write(tmp_path / "sub" / "t")
    assert md.read_text() == table.markdown() and csv_path.read_text() == table.csv()


def test_mean_pm_std():
    assert mean_pm_std(0.81234, 0.0042) == "0.8123 ± 0.0042"
    assert mean_pm_std(0.5, None) == "0.5000"
    assert mean_pm_std(None, None) == "–"
