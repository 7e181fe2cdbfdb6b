"""Attainment of the selected dossiers' candidates (annex 4 §3 « suivi du niveau d'atteinte des prérequis et des
cibles d'usage »), as SQL expressions over the attainment state kept on every declaration (`indicators.state`):
the dashboards count and flag without ever reading the value history or evaluating attainment in Python.

The candidates of a dossier are its members (the GHT members applying, annex 3 §2), or its establishment when it
lists none. A dossier's prerequisites are reached when every candidate met them (§5.3.1, values and justificatory
documents: `EstablishmentState.prerequisites_met`, written by `funding.eligibility.prerequisites`' rule); a
selected domain's targets when every candidate reached the indicator group of its code (`GroupState`, annex 2 §2:
`indicators.attainment.group_attainment`). A domain code unknown to the catalogue is never reached.
"""

from django.db.models import BigIntegerField, BooleanField, Case, Count, Exists, OuterRef, Q, Value, When

from funding.dossiers.models import Dossier, DossierMember
from hopen.models import Establishment
from indicators.attainment import Attainment
from indicators.state.models import EstablishmentState, GroupState

REACHED = Attainment.REACHED.value


def prerequisites_met(programme, establishment) -> Exists:
    """EXISTS: the establishment (an OuterRef to its id) met the programme's prerequisites."""
    return Exists(
        EstablishmentState.objects.filter(programme=programme, establishment_id=establishment, prerequisites_met=True)
    )


def group_reached(establishment, group) -> Exists:
    """EXISTS: the establishment (an OuterRef to its id) reached the indicator group `group` (an OuterRef to its id:
    one probe of the state's unique (establishment, group) index)."""
    return Exists(GroupState.objects.filter(establishment_id=establishment, group_id=group, attainment=REACHED))


def domain_group(group_ids: dict) -> Case:
    """On a DossierDomain queryset: the id of the indicator group of its code in the catalogue in force
    (`group_ids`: {code: id}); NULL for a code the catalogue does not know (never reached)."""
    return Case(
        *(When(domain_code=code, then=Value(pk)) for code, pk in group_ids.items()),
        default=Value(None), output_field=BigIntegerField(),
    )


def _every_candidate(dossier, member_condition, own_condition) -> Case:
    """TRUE when every member of the dossier (an OuterRef to its id) passes `member_condition` (a filter on
    DossierMember), or, without members, when `own_condition` holds."""
    members = DossierMember.objects.filter(dossier_id=dossier)
    return Case(
        When(Exists(members), then=~Exists(members.exclude(member_condition))),
        default=own_condition,
        output_field=BooleanField(),
    )


def dossier_prerequisites_met(programme) -> Case:
    """On a Dossier queryset: every candidate met the prerequisites."""
    return _every_candidate(
        OuterRef("pk"),
        Q(prerequisites_met(programme, OuterRef("establishment_id"))),
        prerequisites_met(programme, OuterRef("establishment_id")),
    )


def domain_targets_reached(queryset, group_ids: dict):
    """`queryset` (of DossierDomain) annotated with `targets_ok`: every candidate of its dossier reached the group
    of its code (`group_ids`: {code: group id} of the catalogue in force)."""
    return queryset.alias(target_group=domain_group(group_ids)).alias(
        targets_ok=_every_candidate(
            OuterRef("dossier_id"),
            Q(group_reached(OuterRef("establishment_id"), OuterRef(OuterRef("target_group")))),
            group_reached(OuterRef("dossier__establishment_id"), OuterRef("target_group")),
        )
    )


def candidate_counts(selected_domains, programme) -> dict:
    """{"establishments": candidates of the dossiers of `selected_domains`, "reached": those who met the
    prerequisites} — one query."""
    dossier_ids = selected_domains.values("dossier_id")
    members = DossierMember.objects.filter(dossier_id__in=dossier_ids).values("establishment_id")
    alone = (
        Dossier.objects.filter(pk__in=dossier_ids)
        .exclude(Exists(DossierMember.objects.filter(dossier_id=OuterRef("pk"))))
        .values("establishment_id")
    )
    return Establishment.objects.filter(Q(pk__in=members) | Q(pk__in=alone)).aggregate(
        establishments=Count("pk"),
        reached=Count("pk", filter=Q(prerequisites_met(programme, OuterRef("pk")))),
    )
