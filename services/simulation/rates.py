"""The rates the generator draws from, each with its source.

[V] a published figure (domain.md or the seed documents in /work/shared/seeds, quoted below),
[S] a secondary or indirect source, [A] an assumption of ours where nothing is published: a
plausible value, kept here so it can be changed in one place. "On time" is against the default
rule pack's deadline (docs/contract.md section 4); "late" lands after it; the rest never
happens within the simulated weeks.

| rate | value | source |
|---|---|---|
| victim letter on time / late / never | 0.685 / 0.215 / 0.10 | [V] domain.md: on time 72% (2018), 65.1% (2020); the split of the rest [A] |
| victim entitled to the enhanced service (1 working day, else 5) | 0.30; RASSO 1.0 | [A] domain.md names who is entitled (most serious crime, vulnerable or intimidated, persistently targeted), not how many |
| a case going to trial with a victim-letter decision (discontinued or charge altered, half each) | 0.14 | [A] |
| a charging decision of no charge: CPS Direct's cases; half that share of an Area's registered cases | 0.25 | [A] |
| a no-charge decision with an identified victim | 0.60 | [A] |
| VRR asked after a no-charge or discontinuance letter | 0.04 | [A] CPS VRR guidance gives scope only |
| VRR concluded in time / late / open | 0.70 / 0.20 / 0.10 | [A] targets unconfirmed (domain.md [open]) |
| unit: magistrates / Crown / RASSO | 0.80 / 0.16 / 0.04 | [S] most prosecutions end in the magistrates' courts |
| guilty plea at the first magistrates' hearing | 0.70 | [V] seeds: East of England 74.2%, "better than the CPS level of ambition" |
| a hearing held / adjourned / vacated | 0.78 / 0.14 / 0.08 | [A] |
| Hearing Record Sheet uploaded on time / late / never | 0.70 / 0.20 / 0.10 | [A] seeds (Thames and Chiltern issue 9, East of England): sheets late or missing, no figure |
| case review on time / late / never | 0.70 / 0.20 / 0.10 | [A] seeds (Thames and Chiltern issue 7): reviews not timely, no figure |
| trial effective / cracked / ineffective | 0.45 / 0.35 / 0.20 | [S] of the order of the courts' published trial effectiveness figures |
| cracked or ineffective trial for prosecution reasons | 0.25 | [S] East of England: worse than the national average, no figure |
| case finalised unsuccessful | 0.17 | [S] CPS conviction rate about 83% |
| unsuccessful without its reason code; corrected within 5 working days / later / never | 0.10; 0.50 / 0.25 / 0.25 | [A] HMCPSI CMS finalisations 2017, rec. 2 (seeds), no figure |
| defendant remanded in custody: magistrates / Crown / RASSO | 0.05 / 0.30 / 0.35 | [S] domain.md: more than 10,000 defendants under a CTL on any day (HMCPSI 2023); these give about that |
| CTL 28-day review recorded on time / late / never | 0.35 / 0.25 / 0.40 | [V] domain.md: the 28-day review recorded in 35% (HMCPSI CTL 2021 and 2023) |
| CTL extended: whenever the trial or plea falls after the expiry, unless released on bail instead | 0.80 / 0.20 | [A] an expired limit cannot be extended (domain.md), so the application comes before it |
| CTL expired without trial, release or extension | 0.003 | [A] CTL failures are rare |
| police file meets the National File Standard | 0.60 | [S] seeds: East of England "continuing weakness in police file quality" |
| file feedback to the force on time / late / never | 0.55 / 0.20 / 0.25 | [A] seeds (East of England: managers "require more feedback"), no figure |
| disclosure decision on the Disclosure Record Sheet on time / late / never | 0.60 / 0.20 / 0.20 | [A] seeds (Thames and Chiltern issue 8), no figure |
| IQAs a legal manager completes a month (pack quota 2): 0 / 1 / 2 / 3 | 0.08 / 0.12 / 0.60 / 0.20 | [A] the quota is unconfirmed (contract section 4) |
| IQA rated too leniently by its assessor | 0.121 | [V] seeds: HMCPSI IQA inspection, 12.1% overly lenient |
| drawn IQA reassessed on time / late / never | 0.70 / 0.15 / 0.15 | [A] |
| finalisation checked by a legal manager | 0.10 | [V] seeds: CMS finalisations rec. 4 ("10% check") as the share a manager checks [A] |
| drawn check checked again on time / late / never | 0.65 / 0.15 / 0.20 | [A] seeds: rec. 4, Areas not complying |
| complaint per case | 0.01 | [A] |
| complaint answered on time / late / never; escalated to stage 2 | 0.80 / 0.15 / 0.05; 0.10 | [A] |
| case reallocated at the weekly call | 0.02 | [A] seeds: Thames and Chiltern issue 7 (DCCPs reallocate at the weekly call) |
| Area assurance inspections a year per Area | 1 | [S] the Area Assurance Programme inspected Areas in turn |
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeliness:
    """The share done on time and late; the rest is never done."""

    on_time: float
    late: float

    @property
    def never(self) -> float:
        return round(1.0 - self.on_time - self.late, 6)


VICTIM_LETTER = Timeliness(0.685, 0.215)
ENHANCED_SHARE = 0.30
VICTIM_DECISION_SHARE = 0.14
NO_CHARGE_SHARE = 0.25
NO_CHARGE_VICTIM = 0.60
VRR_SHARE = 0.04
VRR = Timeliness(0.70, 0.20)

UNITS = (("magistrates", 0.80), ("crown", 0.16), ("rasso", 0.04))
GUILTY_AT_FIRST_HEARING = 0.70
HEARING_FATES = (("held", 0.78), ("adjourned", 0.14), ("vacated", 0.08))
HEARING_RECORD_SHEET = Timeliness(0.70, 0.20)
CASE_REVIEW = Timeliness(0.70, 0.20)
TRIAL_OUTCOMES = (("effective", 0.45), ("cracked", 0.35), ("ineffective", 0.20))
PROSECUTION_ATTRIBUTABLE = 0.25
UNSUCCESSFUL = 0.17
REASON_CODE_MISSING = 0.10
REASON_CODE_CORRECTED = Timeliness(0.50, 0.25)

CUSTODY = {"magistrates": 0.05, "crown": 0.30, "rasso": 0.35}
CTL_REVIEW = Timeliness(0.35, 0.25)
CTL_RELEASED_INSTEAD = 0.20
CTL_EXPIRED = 0.003

FILE_STANDARD_MET = 0.60
FILE_FEEDBACK = Timeliness(0.55, 0.20)
DISCLOSURE_RECORD = Timeliness(0.60, 0.20)

IQAS_A_MONTH = ((0, 0.08), (1, 0.12), (2, 0.60), (3, 0.20))
IQA_LENIENT = 0.121
IQA_REASSESSED = Timeliness(0.70, 0.15)
FINALISATION_CHECKED = 0.10
SAMPLED_CHECK = Timeliness(0.65, 0.15)

COMPLAINT_PER_CASE = 0.01
COMPLAINT_RESPONSE = Timeliness(0.80, 0.15)
COMPLAINT_ESCALATED = 0.10
REALLOCATED = 0.02
INSPECTIONS_A_YEAR = 1

# The default rule pack's intervals the rates are measured against (docs/contract.md section 4;
# services/rules/default-pack.yaml). Kept beside the rates: "on time" means by these.
SAMPLE_PERCENT = 10  # assurance_sample_percent and iqa_reassessment_percent
SAMPLE_DAYS = 10  # assurance_sample_days and iqa_reassessment_days
REVIEW_DAYS = {
    "magistrates-first-hearing": 1,
    "crown-ptph": 5,
    "magistrates-trial": 10,
    "crown-trial": 10,
}
FILE_FEEDBACK_DAYS = 5
DISCLOSURE_RECORD_DAYS = 2
COMPLAINT_DAYS = 20
VRR_DAYS = {"local-resolution": 10, "independent-review": 30}
