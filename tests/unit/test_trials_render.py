"""The trials section in Markdown, CSV and HTML (services/summaries/packs/trials_render.py)."""

from services.summaries.packs.render import trials_html
from services.summaries.packs.trials_render import trials_csv, trials_markdown
from services.summaries.trials import CourtLine, Rate, TrialsSection

# Magistrates': 3 of 12 = 25.0% against 25.0% set (at national); Crown Court: no trials.
SECTION = TrialsSection(
    period="2017-07",
    lines=[
        CourtLine(
            court_type="magistrates",
            area=Rate(trials=12, prosecution=3, cracked=1, ineffective=2),
            national_measured=Rate(trials=40, prosecution=6, cracked=2, ineffective=4),
            national_figure=25.0,
            trend=(("2017-06", Rate()), ("2017-07", Rate(12, 3, 1, 2))),
        ),
        CourtLine(
            court_type="crown",
            area=Rate(),
            national_measured=Rate(trials=5, prosecution=1, cracked=1, ineffective=0),
            national_figure=None,
            trend=(("2017-06", Rate()), ("2017-07", Rate())),
        ),
    ],
)


def test_markdown_says_each_court_against_national() -> None:
    text = "\n".join(trials_markdown(SECTION))
    assert "| magistrates | 12 | 1 | 2 | 25.0% | 15.0% | 25.0% | +0.0 | at national |" in text
    assert "| crown | 0 | 0 | 0 | - | 20.0% | not set | - | no trials |" in text
    assert "| magistrates | - (0) | 25.0% (12) |" in text


def test_csv_lines_count_trials_and_prosecution_reasons_per_period() -> None:
    rows = [(r["table"], r["group"], r["period"], r["count"]) for r in trials_csv(SECTION)]
    assert rows[:5] == [
        ("trials", "magistrates", "2017-06", 0),
        ("prosecution", "magistrates", "2017-06", 0),
        ("trials", "magistrates", "2017-07", 12),
        ("prosecution", "magistrates", "2017-07", 3),
        ("national-trials", "magistrates", "2017-07", 40),
    ]


def test_html_escapes_and_names_the_verdicts() -> None:
    html = trials_html(SECTION)
    assert "at national" in html and "no trials" in html and "not set" in html
    assert "<caption>By court type, 2017-07</caption>" in html
