"""A realistic, deterministic generator of contract events (docs/contract.md section 6,
"Added: followup generate"): the staff and line management of each Area, its cases with their
hearings, record sheets, reviews, trials, files, disclosure, victim letters, custody time limits,
VRR, complaints and finalisations, its IQAs and assurance checks, and now and then an inspection
with the Area's responses; late and missed actions at the rates of `rates`.

Pure: plain dicts and strings from a seed, no broker, database or wall clock.
"""

from services.simulation.areas import AREAS, Area, cases_per_week, find_area
from services.simulation.history import DEFAULT_START, Plan, lines_of, national, to_line, weeks_of

__all__ = [
    "AREAS",
    "DEFAULT_START",
    "Area",
    "Plan",
    "cases_per_week",
    "find_area",
    "lines_of",
    "national",
    "to_line",
    "weeks_of",
]
