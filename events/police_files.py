"""Police file quality under the National File Quality Assurance process (additions to the
contract: see docs/contract.md, section 2, "Added event types").

A prosecutor assesses each police file submitted against the National File Standard; a file
that falls short needs feedback to the force on that case (HMCPSI Area assurance, Thames and
Chiltern, issue 6 and the CPS response; East of England: managers "require more feedback from
prosecutors when police files are not meeting the required standards").
"""

from __future__ import annotations

from typing import Literal, Self, get_args

from pydantic import model_validator

from events.envelope import EventData, Id, IsoDate, field_error

# The submission stages a file is assessed at (docs/contract.md section 2, "Added").
FileStage = Literal["pre-charge", "first-hearing", "post-plea"]

# The failings vocabulary (docs/contract.md section 2, "Added"): the National File Standard's
# forms missing (MG5 case summary, MG11 statements, exhibits, MG6 disclosure schedules), the
# file late, its content not of the standard, or something else.
Failing = Literal[
    "missing-mg5",
    "missing-statements",
    "missing-exhibits",
    "missing-mg6",
    "late",
    "quality",
    "other",
]
FAILINGS: tuple[str, ...] = get_args(Failing)


class FileQualityAssessed(EventData):
    """A police file assessed against the National File Standard at a submission stage."""

    type_name = "file-quality-assessed"

    file_id: Id
    urn: Id
    force: Id  # the police force that submitted the file
    stage: FileStage
    standard_met: bool
    failings: list[Failing] = []
    assessed_by: Id
    assessed_date: IsoDate
    area: Id | None = None

    @model_validator(mode="after")
    def _failings_named(self) -> Self:
        if not self.standard_met and not self.failings:
            raise field_error("failings", "required (at least one) when standard_met is false")
        return self


class FileFeedbackSent(EventData):
    """Feedback on a file's failings sent to the police force."""

    type_name = "file-feedback-sent"

    file_id: Id
    force: Id
    sent_by: Id
    sent_date: IsoDate
