"""The 14 geographical CPS Areas and CPS Direct, as events name them (`area`: a lower-case,
hyphenated slug such as `thames-and-chiltern`), with the share of the national caseload each is
given when the whole CPS is simulated.

The shares are plausible, not published: roughly the population of the police force areas
each Area serves (docs/contract.md section 6, "Added: followup generate"). CPS Direct makes
charging decisions out of hours for every Area: its cases end at the charging decision.
"""

from __future__ import annotations

from dataclasses import dataclass

# Cases a year across the CPS: domain.md, "Scale" (roughly 400,000-500,000; HMCPSI 2023).
NATIONAL_CASES_A_YEAR = 500_000


@dataclass(frozen=True, slots=True)
class Area:
    slug: str  # as events carry it in `area` and in the source `/cms/<slug>`
    name: str
    code: str  # the first two digits of the Area's URNs (a police force code)
    letters: str  # URN letters and staff id prefix
    share: float  # of the national caseload, before normalising
    forces: tuple[str, ...]
    towns: tuple[str, ...]  # where its magistrates' and Crown Courts sit

    @property
    def direct(self) -> bool:
        """CPS Direct: charging decisions only, no court work of its own."""
        return self.slug == "cps-direct"


AREAS: tuple[Area, ...] = (
    Area("cymru-wales", "Cymru-Wales", "62", "CW", 5.5,
         ("dyfed-powys", "gwent", "north-wales", "south-wales"),
         ("Cardiff", "Swansea", "Newport", "Mold")),
    Area("east-midlands", "East Midlands", "30", "EM", 7.5,
         ("derbyshire", "leicestershire", "lincolnshire", "northamptonshire", "nottinghamshire"),
         ("Nottingham", "Derby", "Leicester", "Lincoln", "Northampton")),
    Area("east-of-england", "East of England", "42", "EE", 7.0,
         ("cambridgeshire", "essex", "norfolk", "suffolk"),
         ("Chelmsford", "Ipswich", "Norwich", "Cambridge", "Peterborough")),
    Area("london-north", "London North", "01", "LN", 8.5,
         ("metropolitan", "city-of-london"), ("Wood Green", "Snaresbrook", "Harrow", "Highbury")),
    Area("london-south", "London South", "01", "LS", 8.0,
         ("metropolitan",), ("Croydon", "Inner London", "Kingston", "Southwark")),
    Area("mersey-cheshire", "Mersey-Cheshire", "05", "MC", 5.0,
         ("merseyside", "cheshire"), ("Liverpool", "Chester", "Warrington")),
    Area("north-east", "North East", "10", "NE", 5.0,
         ("cleveland", "durham", "northumbria"),
         ("Newcastle", "Teesside", "Durham", "Sunderland")),
    Area("north-west", "North West", "06", "NW", 10.0,
         ("cumbria", "greater-manchester", "lancashire"),
         ("Manchester", "Preston", "Carlisle", "Bolton")),
    Area("south-east", "South East", "46", "SE", 7.0,
         ("kent", "surrey", "sussex"), ("Maidstone", "Canterbury", "Guildford", "Lewes")),
    Area("south-west", "South West", "50", "SW", 6.0,
         ("avon-and-somerset", "devon-and-cornwall", "gloucestershire"),
         ("Bristol", "Exeter", "Plymouth", "Gloucester")),
    Area("thames-and-chiltern", "Thames and Chiltern", "43", "TC", 5.0,
         ("thames-valley", "bedfordshire", "hertfordshire"),
         ("Reading", "Oxford", "Aylesbury", "High Wycombe", "Milton Keynes", "Luton")),
    Area("wessex", "Wessex", "44", "WX", 5.0,
         ("hampshire", "dorset", "wiltshire"),
         ("Winchester", "Southampton", "Bournemouth", "Salisbury")),
    Area("west-midlands", "West Midlands", "20", "WM", 9.0,
         ("west-midlands", "staffordshire", "warwickshire", "west-mercia"),
         ("Birmingham", "Wolverhampton", "Stafford", "Worcester")),
    Area("yorkshire-and-humberside", "Yorkshire and Humberside", "13", "YH", 9.0,
         ("humberside", "north-yorkshire", "south-yorkshire", "west-yorkshire"),
         ("Leeds", "Sheffield", "Bradford", "Hull", "York")),
    Area("cps-direct", "CPS Direct", "99", "CD", 2.5, ("all-forces",), ()),
)  # fmt: skip

_TOTAL = sum(area.share for area in AREAS)


def national_share(area: Area) -> float:
    """The Area's fraction of the national caseload (the shares normalised to 1)."""
    return area.share / _TOTAL


def cases_per_week(area: Area, *, scale: float = 1.0) -> float:
    """Cases registered a week in the Area at the national rate, times `scale`."""
    return NATIONAL_CASES_A_YEAR * national_share(area) / 52.0 * scale


def find_area(given: str) -> Area | None:
    """The Area named by its slug or its name, any case, spaces or hyphens alike."""
    wanted = _plain(given)
    return next((a for a in AREAS if wanted in (_plain(a.slug), _plain(a.name))), None)


def _plain(text: str) -> str:
    return "".join(c for c in text.lower().replace("&", "and") if c.isalnum())
