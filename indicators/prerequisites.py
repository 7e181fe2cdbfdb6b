"""« Prerequisites reached », one rule for every read (§5.3.1) — pure.

§5.3.1: « La conformité aux indicateurs des prérequis du programme HOP'EN est mesurée via la saisie par
l'établissement / GHT de la valeur des indicateurs **et** de la totalité des pièces justificatives dans oSIS ».
The HOP'EN prerequisites are reached when every prerequisite indicator of the catalogue (P1–P4, 15 in annex 1) has
a declared value, reached (a « non applicable » one is not reached), with at least one justificatory document
(not deleted, not found infected).

`prerequisite_gaps` is the only place that says so: the attainment state (`indicators.state.writer` stores its
answer as `EstablishmentState.prerequisites_met`, read by the progress reads of `funding.eligibility.progress`, the
gates, the deadline sweep and the dashboards) and the eligibility rule (`funding.eligibility.rules`, effect before /
after the derogatory deadline) all ask it. It lives with the indicators (it takes plain values) so that the state's
writer can ask it; `funding.eligibility.prerequisites` re-exports it for the funding code.
"""

from dataclasses import dataclass

from .attainment import Attainment


@dataclass(frozen=True)
class IndicatorState:
    """One indicator, from its latest declared value: attainment (MISSING without one) and live documents."""

    code: str
    attainment: Attainment
    documents: int = 0


@dataclass(frozen=True)
class PrerequisiteGaps:
    """What stops the prerequisites from being reached; empty everywhere when they are."""

    missing: tuple = ()  # no declared value
    not_reached: tuple = ()  # declared not reached, or « non applicable »
    without_documents: tuple = ()  # declared, without a justificatory document
    absent: int = 0  # prerequisites the catalogue lacks against the expected count

    @property
    def reached(self) -> bool:
        return not (self.missing or self.not_reached or self.without_documents or self.absent)


def prerequisite_gaps(states, *, expected: int | None = None) -> PrerequisiteGaps:
    """§5.3.1 (values **and** documents): the gaps of the prerequisite indicators `states` (IndicatorState of every
    prerequisite of the catalogue); `expected`: the number the text names (15), an empty catalogue is never reached."""
    states = tuple(states)
    expected = len(states) if expected is None else expected
    return PrerequisiteGaps(
        missing=tuple(s for s in states if s.attainment == Attainment.MISSING),
        not_reached=tuple(s for s in states if s.attainment in (Attainment.NOT_REACHED, Attainment.NOT_APPLICABLE)),
        without_documents=tuple(s for s in states if s.attainment != Attainment.MISSING and s.documents <= 0),
        absent=max(expected - len(states), 0) if states else max(expected, 1),
    )


def prerequisites_met(states, *, expected: int | None = None) -> bool:
    """True when the prerequisites are reached, values and documents (`prerequisite_gaps`)."""
    return prerequisite_gaps(states, expected=expected).reached
