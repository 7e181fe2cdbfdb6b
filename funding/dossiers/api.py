"""API v1 of the dossier workflow (instruction §5.3.2 « Etape 2 », annexes 2, 3 and 4), served under /api/v1/.

Thin views over the selectors (scoped reads: a dossier out of the user's scope answers 404) and the services (one
per transition). Errors: an impossible transition answers 409 with {"detail": message}; any other refusal of a
programme rule 400; a write by a reader (the DGOS on a decision, another region's ARS…) 403.

- `GET /dossiers/` (filters `status`, `domain`, `region`), `POST /dossiers/` (create, or ask the ARS to initialise);
- `GET /dossiers/{reference}/`;
- `POST /dossiers/{reference}/transmit/`, `POST /dossiers/{reference}/start-review/`;
- `POST /dossiers/{reference}/domains/{code}/decision/` (`selected` with `seed_amount`, or `refused` with `reason`
  and `refusal_kind`);
- `POST /dossiers/{reference}/domains/{code}/targets-reached/`, `…/notify-usage/`, `…/pay-usage/` (a GHT dossier:
  `establishment`, the member's FINESS or id — annex 2 §2, per member share; 400 `{detail, reasons}` on a gate).
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.api import exception_handler as hopen_exception_handler
from hopen.exceptions import ApplicationError, PermissionRefused
from hopen.validation import validate_sane_date

from . import selectors, services
from .models import DOMAIN_CODES, DomainStatus, DossierStatus, RefusalKind
from .rules import DomainInput
from .states import TransitionRefused

TAG = "Dossiers"
PREPARE_REFUSED = "Seul l'établissement (ou l'établissement support de son GHT) prépare ses dossiers."
ERRORS_400 = OpenApiResponse(description="Saisie invalide ou refusée par une règle du programme : message en français.")
ERRORS_403 = OpenApiResponse(description="Rôle sans droit d'écriture sur ce dossier (lecture seule).")
ERRORS_404 = OpenApiResponse(description="Dossier, domaine ou établissement introuvable ou hors de votre périmètre.")
ERRORS_409 = OpenApiResponse(description="Transition impossible dans l'état du dossier ou du domaine : {\"detail\": message}.")
REFERENCE = OpenApiParameter(
    "reference", str, OpenApiParameter.PATH, description="Référence du dossier (<programme>-<région>-<année>-<n°>)."
)
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="Domaine, de D1 à D7.")
LIST_FILTERS = [
    OpenApiParameter("status", str, enum=DossierStatus.values, description="Statut du dossier."),
    OpenApiParameter("domain", str, enum=[c for c, _ in DOMAIN_CODES], description="Domaine du dossier."),
    OpenApiParameter("region", str, description="Code INSEE de région."),
    OpenApiParameter("establishment", str, description="FINESS de l'établissement porteur ou candidat."),
    OpenApiParameter("programme", str, description="Code du programme (par défaut celui en cours) : ses seuls dossiers."),
]


def _exception_handler(exc, context):
    if isinstance(exc, TransitionRefused):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    return hopen_exception_handler(exc, context)


class TransitionConflictMixin:
    """TransitionRefused → 409; the project's handler for the rest (ApplicationError 400, PermissionRefused 403)."""

    def get_exception_handler(self):
        return _exception_handler


class DossierApiView(TransitionConflictMixin, APIView):
    pass


# --- Serializers ---------------------------------------------------------------------------------------------------


class DossierShareSerializer(serializers.Serializer):
    establishment = serializers.CharField(source="establishment.finess")
    establishment_name = serializers.CharField(source="establishment.name")
    combined_activity = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    seed_part = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Part de l'amorçage du domaine (au prorata des forfaits, annexe 2 §2)."
    )
    usage_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    stage = serializers.CharField(help_text="waiting, targets_reached, usage_notified ou paid (annexe 2 §2).")
    targets_reached_at = serializers.DateTimeField(allow_null=True)
    usage_notified_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)


class DossierDomainSerializer(serializers.Serializer):
    domain_code = serializers.CharField()
    status = serializers.CharField(help_text="Statut du domaine : " + ", ".join(DomainStatus.values) + ".")
    status_label = serializers.CharField(source="get_status_display")
    rate = serializers.CharField()
    target_deadline_initial = serializers.DateField()
    target_deadline = serializers.DateField()
    total_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    seed_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    seed_is_derogatory = serializers.BooleanField()
    seed_paid_at = serializers.DateTimeField(allow_null=True)
    usage_amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    decision_reason = serializers.CharField()
    refusal_kind = serializers.CharField()
    refused_for_silence = serializers.BooleanField()
    decided_at = serializers.DateTimeField(allow_null=True)
    targets_reached_at = serializers.DateTimeField(allow_null=True)
    usage_notified_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    admitted_without_ami_at = serializers.DateTimeField(
        allow_null=True, help_text="Admis par l'ARS sans présélection AMI le (candidature tardive, §5.3.2)."
    )
    admitted_without_ami_reason = serializers.CharField()
    vendors = serializers.SerializerMethodField()
    shares = DossierShareSerializer(many=True, source="shares.all")

    def get_vendors(self, domain) -> list[str]:
        return [v.name for v in domain.vendors.all()]


class DossierSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField(help_text="Statut du dossier : " + ", ".join(DossierStatus.values) + ".")
    status_label = serializers.CharField(source="get_status_display")
    establishment = serializers.CharField(source="establishment.finess")
    establishment_name = serializers.CharField(source="establishment.name")
    ght = serializers.CharField(source="ght.code", allow_null=True, default=None)
    region = serializers.CharField(source="region.code")
    members = serializers.SerializerMethodField()
    comment = serializers.CharField()
    total_amount = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    initialisation_requested_at = serializers.DateTimeField(allow_null=True)
    transmitted_at = serializers.DateTimeField(allow_null=True)
    review_started_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    closure_kind = serializers.CharField()
    closure_reason = serializers.CharField()
    domains = DossierDomainSerializer(many=True, source="domains.all")

    def get_members(self, dossier) -> list[str]:
        return [m.establishment.finess for m in dossier.members.all()]

    def get_total_amount(self, dossier) -> str:
        return str(selectors.dossier_total(dossier))


class DossierListSerializer(DossierSerializer):
    """The list: the domains without their shares and vendors."""

    domains = serializers.SerializerMethodField()

    def get_domains(self, dossier) -> list[dict]:
        return [
            {"domain_code": d.domain_code, "status": d.status, "total_amount": str(d.total_amount),
             "seed_amount": str(d.seed_amount), "usage_amount": None if d.usage_amount is None else str(d.usage_amount)}
            for d in dossier.domains.all()
        ]


class DossierDomainInputSerializer(serializers.Serializer):
    domain_code = serializers.ChoiceField(choices=DOMAIN_CODES)
    target_deadline = serializers.DateField(label="Échéance d'atteinte des cibles", validators=[validate_sane_date])
    rate = serializers.ChoiceField(choices=["standard", "advanced"], default="standard")
    vendors = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                    help_text="Identifiants des éditeurs (référentiel RELIMS).")


class DossierCreateSerializer(serializers.Serializer):
    establishment = serializers.CharField(max_length=9, help_text="FINESS de l'établissement (support pour un GHT).")
    ght_members = serializers.ListField(
        child=serializers.CharField(max_length=9), required=False, allow_null=True, default=None,
        help_text="Dossier de GHT : FINESS des établissements candidats (parties au GHT de l'établissement support).",
    )
    domains = DossierDomainInputSerializer(many=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    request_initialisation = serializers.BooleanField(
        required=False, default=False, help_text="Demander à l'ARS d'initialiser le dossier (§5.3.2)."
    )


class DossierDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("selected", "Sélectionner"), ("refused", "Refuser")])
    seed_amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, default=0,
                                           help_text="Amorçage décidé (sélection), en euros ; 0 pour aucun.")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Motif, obligatoire pour un refus (annexe 4 §1).")
    refusal_kind = serializers.ChoiceField(choices=RefusalKind.choices, required=False, allow_blank=True, default="")


# --- Views ---------------------------------------------------------------------------------------------------------


def _detail(user, reference):
    return DossierSerializer(selectors.dossier_for_reading(user, reference)).data


class DossierListApi(TransitionConflictMixin, generics.ListAPIView):
    serializer_class = DossierListSerializer
    pagination_class = PageNumberPagination
    filter_backends = []  # the selector's filters

    def get_queryset(self):
        params = self.request.query_params
        filters = selectors.DossierFilters(
            status=params.get("status", ""), domain=params.get("domain", ""), region=params.get("region", ""),
            establishment=params.get("establishment", ""),
        )
        return selectors.dossiers_visible_to(
            self.request.user, filters, programme=self.request.programme
        ).prefetch_related("members__establishment")

    @extend_schema(
        tags=[TAG], operation_id="dossier_list", parameters=LIST_FILTERS, summary="Dossiers de financement",
        description="Établissement : ses dossiers ; ARS : ceux de sa région ; DGOS : tous. Paginé (`page`).",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=[TAG], operation_id="dossier_create", summary="Créer un dossier (établissement, GHT)",
        description="Domaines avec échéance, forfait et éditeurs ; montant par domaine = forfait de l'annexe 3 selon "
        "l'activité combinée (somme des forfaits des candidats pour un GHT, annexe 3 §2). Refusé pendant le délai "
        "de nouvelle candidature après un refus (annexe 4 §1), hors de la fenêtre de dépôt des dossiers du programme "
        "(§5.3.2 : 400 `{detail, reasons}`) et pour une échéance au-delà de la date limite des cibles d'usage "
        "(§5.3.1). Le dossier est déposé sur le programme en cours (`programme`).",
        parameters=[OpenApiParameter("programme", str, description="Code du programme (par défaut celui en cours).")],
        request=DossierCreateSerializer,
        responses={201: DossierSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request):
        if not permissions.may_prepare_some_dossier(request.user):  # permission before the body (403, never 400)
            raise PermissionRefused(PREPARE_REFUSED)
        data = DossierCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        establishment = permissions.get_establishment_for_reading(request.user, values["establishment"])
        if not permissions.can_prepare_dossier(request.user, establishment):
            raise PermissionRefused(PREPARE_REFUSED)
        members = None
        if values["ght_members"] is not None:
            wanted = [str(f).upper() for f in values["ght_members"]]
            found = {e.finess: e for e in permissions.establishments_readable_by(request.user).filter(finess__in=wanted)}
            unknown = [f for f in wanted if f not in found]
            if unknown:
                raise ApplicationError(f"Établissement introuvable : {', '.join(unknown)}.")
            members = [found[f] for f in wanted]
        domains = [
            DomainInput(code=d["domain_code"], target_deadline=d["target_deadline"], rate=d["rate"], vendors=d["vendors"])
            for d in values["domains"]
        ]
        write = services.dossier_request_initialisation if values["request_initialisation"] else services.dossier_create
        dossier = write(
            establishment=establishment, domains=domains, by=request.user, programme=request.programme,
            ght_members=members, comment=values["comment"],
        )
        return Response(_detail(request.user, dossier.reference), status=status.HTTP_201_CREATED)


def _require_region_money(user, domain, message):
    """The ARS's decisions: permission before the body (a reader's write answers 403, never 400); the service
    checks again."""
    if not permissions.can_manage_region_money(user, domain.dossier.region):
        raise PermissionRefused(message)


class DossierDetailApi(DossierApiView):
    @extend_schema(
        tags=[TAG], operation_id="dossier_read", parameters=[REFERENCE], summary="Un dossier",
        responses={200: DossierSerializer, 404: ERRORS_404},
    )
    def get(self, request, reference):
        return Response(_detail(request.user, reference))


def _dossier_action(service, summary, description, operation_id):
    class DossierActionApi(DossierApiView):
        @extend_schema(
            tags=[TAG], operation_id=operation_id, parameters=[REFERENCE], summary=summary, description=description,
            request=None, responses={200: DossierSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404, 409: ERRORS_409},
        )
        def post(self, request, reference):
            dossier = selectors.dossier_for_reading(request.user, reference)
            service(dossier=dossier, by=request.user)
            return Response(_detail(request.user, reference))

    DossierActionApi.__name__ = DossierActionApi.__qualname__ = f"{operation_id.title().replace('_', '')}Api"
    return DossierActionApi


DossierTransmitApi = _dossier_action(
    services.dossier_transmit, "Transmettre le dossier à l'ARS",
    "L'ARS dispose ensuite de quatre mois (annexe 4 §1). Refusé (400) si un établissement candidat n'est pas éligible "
    "(§5.3.1) ou si un domaine n'indique aucun éditeur (§5.3.1, `reasons` : `vendors_not_named`) ; 409 si le dossier "
    "n'est pas en préparation.", "dossier_transmit",
)
DossierStartReviewApi = _dossier_action(
    services.dossier_start_review, "Ouvrir l'instruction (ARS)", "ARS de la région ; dossier transmis.",
    "dossier_start_review",
)


class DomainDecisionApi(DossierApiView):
    @extend_schema(
        tags=[TAG], operation_id="dossier_domain_decide", parameters=[REFERENCE, CODE],
        summary="Décision de l'ARS sur un domaine",
        description="`selected` avec l'amorçage (`seed_amount`, de 0 au total du domaine, engagé sur l'enveloppe "
        "régionale, annexe 2 §2) ou `refused` avec `reason` et `refusal_kind` (`financial` ou `feasibility`, annexe "
        "4 §1). L'ARS peut ne sélectionner qu'une partie des domaines ; quand le dernier est décidé, le dossier passe "
        "« en cours » ou « refusé ».",
        request=DossierDecisionSerializer,
        responses={200: DossierDomainSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404, 409: ERRORS_409},
    )
    def post(self, request, reference, code):
        domain = selectors.domain_for_reading(request.user, reference, code)
        _require_region_money(request.user, domain, "La décision sur un domaine revient à l'ARS de la région du dossier.")
        data = DossierDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["decision"] == "selected":
            services.domain_select(domain=domain, seed_amount=values["seed_amount"], reason=values["reason"], by=request.user)
        else:
            services.domain_refuse(
                domain=domain, reason=values["reason"], refusal_kind=values["refusal_kind"], by=request.user
            )
        return Response(DossierDomainSerializer(selectors.domain_for_reading(request.user, reference, code)).data)


class DomainMemberSerializer(serializers.Serializer):
    establishment = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Dossier de GHT : l'établissement partie concerné (FINESS ou identifiant), obligatoire — le "
        "financement à l'usage intervient à chaque atteinte des cibles par un établissement partie (annexe 2 §2).",
    )


def _may_record_targets(user, dossier) -> bool:
    return permissions.can_file_dossier(user, dossier.establishment) or permissions.can_manage_region_money(
        user, dossier.region
    )


def _may_fund(user, dossier) -> bool:
    return permissions.can_manage_region_money(user, dossier.region)


def _domain_action(service, summary, description, operation_id, *, permitted, refused):
    """`permitted(user, dossier)` is asked before the body is read (a reader's write answers 403, never 400); the
    service checks again."""

    class DomainActionApi(DossierApiView):
        @extend_schema(
            tags=[TAG], operation_id=operation_id, parameters=[REFERENCE, CODE], summary=summary,
            description=description, request=DomainMemberSerializer,
            responses={200: DossierDomainSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404, 409: ERRORS_409},
        )
        def post(self, request, reference, code):
            domain = selectors.domain_for_reading(request.user, reference, code)
            if not permitted(request.user, domain.dossier):
                raise PermissionRefused(refused)
            data = DomainMemberSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            member = data.validated_data["establishment"].strip()
            service(domain=domain, by=request.user, **({"establishment": member} if member else {}))
            return Response(DossierDomainSerializer(selectors.domain_for_reading(request.user, reference, code)).data)

    DomainActionApi.__name__ = DomainActionApi.__qualname__ = f"{operation_id.title().replace('_', '')}Api"
    return DomainActionApi


DomainTargetsReachedApi = _domain_action(
    services.domain_record_targets_reached, "Constater l'atteinte des cibles d'un domaine",
    "Direction de l'établissement ou ARS ; prérequis HOP'EN et cibles du domaine atteints d'après les valeurs "
    "déclarées (annexe 2 §2), sinon 400 avec ce qui manque. Dossier de GHT : par établissement partie "
    "(`establishment`, obligatoire), d'après ses seules valeurs.",
    "dossier_domain_targets_reached",
    permitted=_may_record_targets,
    refused="L'atteinte des cibles est constatée par la direction de l'établissement ou par l'ARS.",
)
DomainNotifyUsageApi = _domain_action(
    services.domain_notify_usage, "Notifier le financement à l'usage d'un domaine (ARS)",
    "Montant = total du domaine − amorçage (annexe 2 §2), engagé sur l'enveloppe ; par domaine, indépendamment des "
    "autres domaines du dossier. Dossier de GHT : par établissement partie (`establishment`, obligatoire), son "
    "forfait − sa part de l'amorçage.",
    "dossier_domain_notify_usage",
    permitted=_may_fund, refused="Le financement à l'usage est notifié par l'ARS de la région du dossier.",
)
DomainPayUsageApi = _domain_action(
    services.domain_record_usage_payment, "Enregistrer le versement du financement à l'usage (ARS)",
    "Après le versement de l'amorçage (annexe 2 §2 : « aucun versement intermédiaire ») ; le dossier est soldé "
    "quand tous ses domaines sélectionnés sont versés. Dossier de GHT : par établissement partie "
    "(`establishment`), le domaine est versé quand chaque établissement l'est. Refus : 400 `{detail, reasons}`.",
    "dossier_domain_pay_usage",
    permitted=_may_fund, refused="Le versement du financement à l'usage est enregistré par l'ARS de la région du dossier.",
)



class DossierAdmissionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Motif de l'admission sans présélection AMI (obligatoire, §5.3.2).")


class DomainAdmitWithoutAmiApi(DossierApiView):
    @extend_schema(
        tags=[TAG], operation_id="dossier_domain_admit_without_ami", parameters=[REFERENCE, CODE],
        summary="Admettre un domaine sans présélection AMI (ARS)",
        description="Candidature tardive (§5.3.2 « Exceptionnellement … si l'ARS et son enveloppe régionale le "
        "permettent ») : l'ARS de la région admet le domaine d'un dossier en préparation, avec son motif, tant que "
        "la fenêtre des candidatures tardives est ouverte ; la transmission accepte alors ce domaine.",
        request=DossierAdmissionSerializer,
        responses={200: DossierDomainSerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404, 409: ERRORS_409},
    )
    def post(self, request, reference, code):
        domain = selectors.domain_for_reading(request.user, reference, code)
        _require_region_money(
            request.user, domain, "L'admission d'un domaine sans présélection AMI revient à l'ARS de la région."
        )
        data = DossierAdmissionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.domain_admit_without_ami(domain=domain, reason=data.validated_data["reason"], by=request.user)
        return Response(DossierDomainSerializer(selectors.domain_for_reading(request.user, reference, code)).data)


urlpatterns = [
    path("dossiers/", DossierListApi.as_view(), name="api_dossier_list"),
    path("dossiers/<str:reference>/", DossierDetailApi.as_view(), name="api_dossier_detail"),
    path("dossiers/<str:reference>/transmit/", DossierTransmitApi.as_view(), name="api_dossier_transmit"),
    path("dossiers/<str:reference>/start-review/", DossierStartReviewApi.as_view(), name="api_dossier_start_review"),
    path(
        "dossiers/<str:reference>/domains/<str:code>/decision/", DomainDecisionApi.as_view(),
        name="api_dossier_domain_decision",
    ),
    path(
        "dossiers/<str:reference>/domains/<str:code>/targets-reached/", DomainTargetsReachedApi.as_view(),
        name="api_dossier_domain_targets_reached",
    ),
    path(
        "dossiers/<str:reference>/domains/<str:code>/notify-usage/", DomainNotifyUsageApi.as_view(),
        name="api_dossier_domain_notify_usage",
    ),
    path(
        "dossiers/<str:reference>/domains/<str:code>/pay-usage/", DomainPayUsageApi.as_view(),
        name="api_dossier_domain_pay_usage",
    ),
    path(
        "dossiers/<str:reference>/domains/<str:code>/admit-without-ami/", DomainAdmitWithoutAmiApi.as_view(),
        name="api_dossier_domain_admit_without_ami",
    ),
]
