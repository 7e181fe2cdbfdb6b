"""Attainment of the selected dossiers' candidates (annex 4 §3 « suivi du niveau d'atteinte des prérequis et des
cibles d'usage »), as SQL expressions over the attainment state kept on every declaration (`indicators.state`):
the dashboards count and flag without ever reading the value history or evaluating attainment in Python.

The candidates of a dossier are its members (the GHT members applying, annex 3 §2), or its establishment when it
lists none. A dossier's prerequisites are reached when every candidate met them (§5.3.1, values and justificatory
documents: `EstablishmentState.prerequisites_met`, written by `funding.eligibility.prerequisites`' rule); a
selected domain's targets when every candidate reached the indicator group of its code (`GroupState`, annex 2 §2:
`indicators.attainment.group_attainment`). A domain code unknown to the catalogue is never reached.
"""

from django.db.models import BigIntegerField, BooleanField, Count, Exists, ExpressionWrapper, F, Func, OuterRef, Q

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


class _GroupOfCode(Func):
    """ids[array_position(codes, code)]: the id at the position of the code, NULL for a code not in `codes`. One
    expression with two array parameters, where a CASE had one branch per group: the dashboard compiles it in
    four subqueries per request, and a CASE of eleven branches cost more to build than the SQL to run."""

    output_field = BigIntegerField()

    def __init__(self, code, group_ids: dict):
        super().__init__(code)
        self.codes, self.ids = list(group_ids), list(group_ids.values())

    def as_sql(self, compiler, connection, **extra_context):
        code_sql, code_params = compiler.compile(self.get_source_expressions()[0])
        return f"(%s::bigint[])[array_position(%s::text[], ({code_sql})::text)]", (self.ids, self.codes, *code_params)


def domain_group(group_ids: dict) -> Func:
    """On a DossierDomain queryset: the id of the indicator group of its code in the catalogue in force
    (`group_ids`: {code: id}); NULL for a code the catalogue does not know (never reached)."""
    return _GroupOfCode(F("domain_code"), group_ids)


def _every_candidate(dossier, member_condition, own_condition) -> ExpressionWrapper:
    """TRUE when every member of the dossier (an OuterRef to its id) passes `member_condition` (a filter on
    DossierMember), or, without members, when `own_condition` holds: « no member fails, and there are members or
    the establishment passes ». The failing member is looked for first: a dossier whose candidate failed (most of
    them on a dashboard) costs one probe, not two."""
    members = DossierMember.objects.filter(dossier_id=dossier)
    return ExpressionWrapper(
        ~Q(Exists(members.exclude(member_condition))) & (Q(Exists(members)) | Q(own_condition)),
        output_field=BooleanField(),
    )


def dossier_prerequisites_met(programme) -> ExpressionWrapper:
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


def candidate_counts(dossiers: Q, members: Q, programme) -> dict:
    """{"establishments": the candidates of the dossiers `dossiers` (a Q on Dossier), "reached": those who met the
    prerequisites} — one query. `members` is the same condition on DossierMember (through « dossier__ »): the
    members are joined to their dossiers, which the planner probes one by one from the scope's index (read through
    the dossiers' ids, it merge-joined every domain of the nation)."""
    alone = (
        Dossier.objects.filter(dossiers)
        .exclude(Exists(DossierMember.objects.filter(dossier_id=OuterRef("pk"))))
        .values("establishment_id")
    )
    candidates = Q(pk__in=DossierMember.objects.filter(members).values("establishment_id")) | Q(pk__in=alone)
    return Establishment.objects.filter(candidates).aggregate(
        establishments=Count("pk"),
        reached=Count("pk", filter=Q(prerequisites_met(programme, OuterRef("pk")))),
    )
