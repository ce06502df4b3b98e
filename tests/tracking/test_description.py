"""The parent run's description: the front table, the objective once, the labels explained (pure)."""

from __future__ import annotations

from cpt_search.presets import PRESETS, preset
from cpt_search.records.confirmed import SearchFront
from cpt_search.select import Candidate
from cpt_search.tracking.description import LABELS_HELP, MAX_NOTE_CHARS, front_markdown


def one_seed_front(n: int = 2) -> SearchFront:
    members = tuple(Candidate(k, f"CR 3-{4 + k % 4}/8 n=8", 0.8 + 0.001 * k, (1 + k) * 1e9, 0.01 * (1 + k),
                              preset("CR").to_dict(), baseline=k == 0, extra={"test_metric": 0.79})
                    for k in range(n))
    return SearchFront("val_accuracy", True, members, members, 0.75, (0.0, 1.0))


def test_front_table_names_the_objective_once_and_every_member() -> None:
    text = front_markdown(one_seed_front(), search="s", test_metric_name="test_accuracy",
                          run_names={0: "000 CR 3-4/8 n=8"})
    assert text.count("maximise") == 1 and "never used to select" in text
    assert "| run (trial, schedule) | val_accuracy | test_accuracy | relative_cost | GBitOPs |" in text
    assert "| 000 CR 3-4/8 n=8 * | 0.8000 | 0.7900 | 0.0100 | 1.000 |" in text
    assert "| 001 CR 3-5/8 n=8 | 0.8010 |" in text
    assert text.index("| run (trial, schedule) |") < text.index("**Objective**")  # the table is what the page shows first
    assert "P(front)" not in text  # no confirmation columns on a one-seed front


def test_a_long_front_fits_in_one_mlflow_tag() -> None:
    text = front_markdown(one_seed_front(400), search="s", test_metric_name="test_accuracy")
    assert len(text) <= MAX_NOTE_CHARS and "more in pareto_front.csv" in text and LABELS_HELP in text


def test_labels_help_decodes_every_preset_name() -> None:
    """Each preset's letters are the profile initial, R/T for the form and H/V for the flip, as the
    help text says; a new preset whose name does not follow that would need the text changed."""
    initials = {"cosine": "C", "linear": "L", "exp": "E", "rex": "R"}
    for name in PRESETS.names():
        shape = PRESETS.get(name)
        expected = initials[shape.profile] + ("R" if shape.form == "repeated" else "T")
        assert name[:2] == expected, name
        if len(name) == 3:
            assert name[2] == shape.flip[0].upper()
    for letter_meaning in ("C cosine", "L linear", "E exponential", "R REX", "`static B/G`", "`FP32`",
                           "`+warmup F@B`", "`+cooldown F@B`"):
        assert letter_meaning in LABELS_HELP
