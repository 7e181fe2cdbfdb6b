"""« Prerequisites reached », one rule for every read (§5.3.1: « la valeur des indicateurs **et** la totalité des
pièces justificatives ») — pure.

The rule takes plain values and lives with the indicators (`indicators.prerequisites`), whose attainment state
(`indicators.state`) stores its answer on every declaration; the funding code (eligibility rules, gates) imports it
from here.
"""

from indicators.prerequisites import IndicatorState, PrerequisiteGaps, prerequisite_gaps, prerequisites_met

__all__ = ["IndicatorState", "PrerequisiteGaps", "prerequisite_gaps", "prerequisites_met"]
