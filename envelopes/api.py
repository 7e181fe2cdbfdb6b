"""API v1 of the regional envelopes (annex 2, annex 4 §1 and §3), served under /api/v1/ (envelopes/api_urls.py).

Thin views over the selectors and the services:

Every endpoint works on one programme: `request.programme` (the `programme` query parameter, else the current one;
an unknown code answers 404 — `indicators.programmes`).

- `GET envelopes/`: one object per region with its balances (decimal strings, euros); an ARS reads its region,
  the DGOS (and the other national roles) the 18 regions, any other role an empty list.
- `GET envelopes/{region}/`: the same figures for one region, with the derogatory seed funding and the sector
  quotas; 404 out of scope.
- `GET envelopes/{region}/entries/`: the ledger of the region, newest first, paginated; read-only (the ledger is
  written by the services of the dossiers, never through this API).
- `POST envelopes/{region}/delegations/`: the DGOS records a delegation of credits to the region (annex 2 §3); 403
  for any other role, 400 with a French message beyond the credits left to delegate.
- `POST redeployments/`: the DGOS moves credits between two regions (a pair of entries); 403 for any other role,
  400 with a French message when the credits are insufficient.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.exceptions import PermissionRefused
from hopen.validation import validate_sane_date

from . import selectors
from .ledger import balances_of
from .models import Pot
from .services.common import REDEPLOYMENT_REFUSED
from .services.delegations import DELEGATION_REFUSED, credits_delegate
from .services.redeployment import redeploy

TAG = "enveloppes"
AMOUNT = {"max_digits": 16, "decimal_places": 2}
REGION = OpenApiParameter("region_code", str, OpenApiParameter.PATH, description="Code INSEE de la région (par exemple 32).")
PROGRAMME = OpenApiParameter(
    "programme", str, description="Code du programme (par défaut celui en cours) : ses seules enveloppes. Code inconnu : 404."
)
ERRORS_400 = OpenApiResponse(description="Saisie invalide ou refusée par une règle du programme : message en français.")
ERRORS_403 = OpenApiResponse(description="Réservé à la DGOS (chargé de mission).")
ERRORS_404 = OpenApiResponse(description="Région sans enveloppe ou hors de votre périmètre.")
BALANCE_FIELDS = [
    ("total", "Enveloppe totale (amorçage + usage, redéploiements compris)."),
    ("seed_total", "Crédits d'amorçage (20 % de l'enveloppe, annexe 2 §2, redéploiements compris)."),
    ("usage_total", "Crédits d'usage (80 % de l'enveloppe, redéploiements compris)."),
    ("seed_committed", "Amorçage engagé (décisions de l'ARS), corrections déduites."),
    ("seed_paid", "Amorçage versé."),
    ("usage_committed", "Financement à l'usage engagé (notifié)."),
    ("usage_paid", "Financement à l'usage versé."),
    ("refunds_claimed", "Remboursements demandés."),
    ("refunds_received", "Remboursements reçus."),
    ("available", "Disponible : crédits − engagements + remboursements reçus."),
    ("refunds_deducted", "Remboursements reçus déduits de l'enveloppe régionale (annexe 2 §2 : « L'enveloppe régionale "
     "sera déduite des montants récupérés ») ; ils réduisent les crédits et ce qui en a été délégué."),
    ("delegated", "Crédits délégués à l'ARS par circulaire (annexe 2 §3), amorçage + usage, déductions retranchées."),
    ("to_delegate", "Crédits de l'enveloppe restant à déléguer (amorçage + usage)."),
    ("seed_delegated", "Crédits d'amorçage délégués."),
    ("seed_to_delegate", "Crédits d'amorçage restant à déléguer."),
    ("usage_delegated", "Crédits d'usage délégués."),
    ("usage_to_delegate", "Crédits d'usage restant à déléguer."),
]


# --- Serializers ---------------------------------------------------------------------------------------------------


class EnvelopeBalancesSerializer(serializers.Serializer):
    programme = serializers.CharField(help_text="Code du programme de l'enveloppe.")
    region = serializers.CharField(help_text="Code INSEE de la région.")
    region_name = serializers.CharField(help_text="Nom de la région.")
    total = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[0][1])
    seed_total = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[1][1])
    usage_total = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[2][1])
    seed_committed = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[3][1])
    seed_paid = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[4][1])
    usage_committed = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[5][1])
    usage_paid = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[6][1])
    refunds_claimed = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[7][1])
    refunds_received = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[8][1])
    available = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[9][1])
    refunds_deducted = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[10][1])
    delegated = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[11][1])
    to_delegate = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[12][1])
    seed_delegated = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[13][1])
    seed_to_delegate = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[14][1])
    usage_delegated = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[15][1])
    usage_to_delegate = serializers.DecimalField(**AMOUNT, help_text=BALANCE_FIELDS[16][1])


class DerogatorySerializer(serializers.Serializer):
    raised = serializers.BooleanField(help_text="Plafond porté à 50 % par l'ARS (§5.1).")
    share_percent = serializers.IntegerField(help_text="Plafond en % des crédits d'amorçage : 30, ou 50 une fois porté.")
    ceiling = serializers.DecimalField(**AMOUNT, help_text="Plafond de l'amorçage dérogatoire, en euros.")
    used = serializers.DecimalField(**AMOUNT, help_text="Amorçage dérogatoire engagé (remboursements reçus déduits).")
    available = serializers.DecimalField(**AMOUNT, help_text="Reste sous le plafond.")
    reason = serializers.CharField(help_text="Motif du relèvement du plafond (vide sinon).")


class SectorBalanceSerializer(serializers.Serializer):
    sector = serializers.CharField(help_text="`public`, `private` ou `espic` (ESPIC : établissements qualifiés ESPIC et CLCC ; les autres établissements privés, lucratifs ou non, comptent en privé).")
    label = serializers.CharField()
    share_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True, help_text="Quota en % des crédits d'amorçage ; null sans quota.")
    ceiling = serializers.DecimalField(**AMOUNT, allow_null=True, help_text="Quota en euros ; null sans quota.")
    used = serializers.DecimalField(**AMOUNT, help_text="Amorçage engagé pour le secteur (remboursements reçus déduits).")
    available = serializers.DecimalField(**AMOUNT, allow_null=True, help_text="Reste du quota ; null sans quota.")


class EnvelopeDetailSerializer(EnvelopeBalancesSerializer):
    seed_available = serializers.DecimalField(**AMOUNT, help_text="Crédits d'amorçage disponibles.")
    usage_available = serializers.DecimalField(**AMOUNT, help_text="Crédits d'usage disponibles.")
    seed_delegated_available = serializers.DecimalField(
        **AMOUNT, help_text="Crédits d'amorçage délégués et non engagés (ce que l'ARS peut engager aujourd'hui, annexe 2 §3)."
    )
    usage_delegated_available = serializers.DecimalField(
        **AMOUNT, help_text="Crédits d'usage délégués et non engagés (annexe 2 §3)."
    )
    derogatory = DerogatorySerializer(help_text="Amorçage dérogatoire (§5.1).")
    sectors = SectorBalanceSerializer(many=True, help_text="Quotas sectoriels d'amorçage (004).")


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="N° d'ordre de l'écriture dans l'enveloppe.")
    kind = serializers.CharField(
        help_text="`allocation`, `redeployment_in`, `redeployment_out`, `seed_commitment`, `seed_payment`, "
        "`usage_commitment`, `usage_payment`, `refund_claim`, `refund_received`, `refund_deduction` (enveloppe "
        "déduite d'un remboursement reçu, annexe 2 §2) ou `delegation` (crédits délégués par circulaire, annexe 2 §3)."
    )
    kind_label = serializers.CharField(source="get_kind_display")
    pot = serializers.CharField(help_text="`seed` (amorçage) ou `usage`.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Montant en euros ; négatif pour une correction.")
    effective_on = serializers.DateField()
    establishment = serializers.CharField(source="establishment.finess", allow_null=True, default=None, help_text="FINESS du bénéficiaire.")
    establishment_name = serializers.CharField(source="establishment.name", allow_null=True, default=None)
    sector = serializers.CharField(help_text="Secteur du bénéficiaire : `public`, `private`, `espic` ou vide.")
    is_derogatory = serializers.BooleanField()
    dossier = serializers.CharField(source="dossier_domain.dossier.reference", allow_null=True, default=None, help_text="Référence du dossier.")
    domain = serializers.CharField(source="dossier_domain.domain_code", allow_null=True, default=None, help_text="Domaine D1 à D7.")
    counterpart = serializers.IntegerField(source="counterpart_id", allow_null=True, help_text="Écriture liée : redéploiement cédé, ou demande de remboursement soldée.")
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True, help_text="Écriture corrigée.")
    label = serializers.CharField()
    reference = serializers.CharField(help_text="Délégation : référence de la circulaire budgétaire ; vide sinon.")
    seed_available_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    usage_available_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class RedeploymentInputSerializer(serializers.Serializer):
    from_region = serializers.CharField(max_length=2, label="Région cédante (code INSEE)")
    to_region = serializers.CharField(max_length=2, label="Région bénéficiaire (code INSEE)")
    pot = serializers.ChoiceField(choices=Pot.choices, label="Part (seed : amorçage, usage)")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, label="Montant (€)")
    reason = serializers.CharField(max_length=2000, label="Motif")


class DelegationInputSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, label="Exercice budgétaire")
    pot = serializers.ChoiceField(choices=Pot.choices, label="Part (seed : amorçage, usage)")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, label="Montant délégué (€)")
    reference = serializers.CharField(max_length=200, label="Référence de la circulaire budgétaire")
    delegated_on = serializers.DateField(
        required=False, validators=[validate_sane_date], label="Date de la délégation", help_text="Date de la circulaire, dans l'exercice ; aujourd'hui par défaut."
    )


class RedeploymentSerializer(serializers.Serializer):
    given = LedgerEntrySerializer(help_text="L'écriture cédée par la région d'origine.")
    received = LedgerEntrySerializer(help_text="L'écriture reçue par la région bénéficiaire.")


# --- Helpers ---------------------------------------------------------------------------------------------------------


def balances_data(envelope, balances) -> dict:
    data = {"programme": envelope.programme.code, "region": envelope.region.code, "region_name": envelope.region.name}
    data.update({name: getattr(balances, name) for name, _ in BALANCE_FIELDS})
    return data


def detail_data(envelope) -> dict:
    balances = balances_of([envelope.pk])[envelope.pk]
    breakdown = selectors.seed_breakdown_of([envelope.pk])[envelope.pk]
    derogatory = selectors.derogatory_seed_status(envelope, balances=balances, breakdown=breakdown)
    sectors = selectors.sector_seed_balances(envelope, balances=balances, breakdown=breakdown)
    data = balances_data(envelope, balances)
    data.update(
        seed_available=balances.seed_available,
        usage_available=balances.usage_available,
        seed_delegated_available=balances.seed_delegated_available,
        usage_delegated_available=balances.usage_delegated_available,
        derogatory={
            "raised": derogatory.raised, "share_percent": derogatory.share_percent, "ceiling": derogatory.ceiling,
            "used": derogatory.used, "available": derogatory.available, "reason": envelope.derogatory_ceiling_reason,
        },
        sectors=[
            {"sector": s.sector, "label": s.label, "share_percent": s.share_percent, "ceiling": s.ceiling,
             "used": s.used, "available": s.available}
            for s in sectors
        ],
    )
    return data


# --- Views -----------------------------------------------------------------------------------------------------------


class EnvelopeListApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="envelopes_list", parameters=[PROGRAMME],
        summary="Soldes des enveloppes régionales",
        description="Un objet par région (annexe 2), montants en euros (chaînes décimales), dérivés du grand livre. "
        "ARS : sa région ; DGOS : les 18 régions ; autres rôles : liste vide.",
        responses={200: EnvelopeBalancesSerializer(many=True)},
    )
    def get(self, request):
        rows = selectors.balances_visible_to(request.user, programme=request.programme)
        return Response(EnvelopeBalancesSerializer([balances_data(e, b) for e, b in rows], many=True).data)


class EnvelopeDetailApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="envelopes_read", parameters=[REGION, PROGRAMME],
        summary="Soldes d'une enveloppe régionale",
        description="Les soldes de la liste, les disponibles par part, l'amorçage dérogatoire (plafond 30 % ou 50 %, "
        "§5.1) et les quotas sectoriels d'amorçage (004).",
        responses={200: EnvelopeDetailSerializer, 404: ERRORS_404},
    )
    def get(self, request, region_code):
        envelope = selectors.envelope_of_region(request.user, region_code, programme=request.programme)
        return Response(EnvelopeDetailSerializer(detail_data(envelope)).data)


class EntryPagination(PageNumberPagination):
    page_size = 50


class EnvelopeEntriesApi(generics.ListAPIView):
    serializer_class = LedgerEntrySerializer
    pagination_class = EntryPagination
    filter_backends = []

    def get_queryset(self):
        envelope = selectors.envelope_of_region(
            self.request.user, self.kwargs["region_code"], programme=self.request.programme
        )
        return selectors.envelope_entries(envelope)

    @extend_schema(
        tags=[TAG], operation_id="envelopes_entries", parameters=[REGION, PROGRAMME],
        summary="Grand livre d'une enveloppe régionale",
        description="Les écritures de l'enveloppe, les plus récentes d'abord : dotations, redéploiements, "
        "engagements et versements d'amorçage et d'usage, demandes de remboursement et remboursements reçus, "
        "corrections (montant négatif, écriture corrigée). En lecture seule : le grand livre n'est jamais modifié.",
        responses={200: LedgerEntrySerializer(many=True), 404: ERRORS_404},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _envelope_for_redeployment(user, programme, code, field):
    envelope = selectors.envelopes_visible_to(user, programme=programme).filter(region__code=code).first()
    if envelope is None:
        raise serializers.ValidationError({field: [f"Aucune enveloppe pour la région « {code} »."]})
    return envelope


class RedeploymentApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="redeployments_create", parameters=[PROGRAMME],
        summary="Redéployer des crédits entre deux régions (DGOS)",
        description="Annexe 4 §1 : « le ministère pourra redéployer une partie des fonds vers d'autres régions ». "
        "Deux écritures dans une même transaction : cédée par la région d'origine, reçue par l'autre. Refusé (400) "
        "quand les crédits disponibles de la part choisie ne suffisent pas.",
        request=RedeploymentInputSerializer,
        responses={201: RedeploymentSerializer, 400: ERRORS_400, 403: ERRORS_403},
    )
    def post(self, request):
        if not permissions.can_redeploy_envelopes(request.user):
            raise PermissionRefused(REDEPLOYMENT_REFUSED)
        data = RedeploymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        source = _envelope_for_redeployment(request.user, request.programme, values["from_region"], "from_region")
        target = _envelope_for_redeployment(request.user, request.programme, values["to_region"], "to_region")
        given, received = redeploy(
            from_envelope=source, to_envelope=target, pot=values["pot"], amount=values["amount"],
            reason=values["reason"], by=request.user,
        )
        entries = {e.pk: e for e in selectors.entries_by_id([given.pk, received.pk])}
        body = {"given": entries[given.pk], "received": entries[received.pk]}
        return Response(RedeploymentSerializer(body).data, status=status.HTTP_201_CREATED)


class DelegationApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="envelopes_delegations_create", parameters=[REGION, PROGRAMME],
        summary="Enregistrer une délégation de crédits à une région (DGOS)",
        description="Annexe 2 §3 : les crédits sont délégués aux ARS par circulaire (amorçage dès 2019, usage à partir "
        "de 2020 pour HOP'EN), selon la programmation annuelle remontée par l'ARS. Une écriture `delegation` au grand "
        "livre ; les engagements de la région restent dans les crédits délégués à leur date. Refusé (400) au-delà "
        "des crédits restant à déléguer, hors de l'exercice, à une date à venir ou avant la première année de la part.",
        request=DelegationInputSerializer,
        responses={201: LedgerEntrySerializer, 400: ERRORS_400, 403: ERRORS_403, 404: ERRORS_404},
    )
    def post(self, request, region_code):
        if not permissions.can_delegate_credits(request.user):
            raise PermissionRefused(DELEGATION_REFUSED)
        envelope = selectors.envelope_of_region(request.user, region_code, programme=request.programme)
        data = DelegationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        entry = credits_delegate(
            envelope=envelope, year=values["year"], pot=values["pot"], amount=values["amount"],
            reference=values["reference"], on=values.get("delegated_on"), by=request.user,
        )
        return Response(
            LedgerEntrySerializer(selectors.entries_by_id([entry.pk]).get()).data, status=status.HTTP_201_CREATED
        )


urlpatterns = [
    path("envelopes/", EnvelopeListApi.as_view(), name="api_envelopes"),
    path("envelopes/<str:region_code>/", EnvelopeDetailApi.as_view(), name="api_envelope"),
    path("envelopes/<str:region_code>/entries/", EnvelopeEntriesApi.as_view(), name="api_envelope_entries"),
    path("envelopes/<str:region_code>/delegations/", DelegationApi.as_view(), name="api_envelope_delegations"),
    path("redeployments/", RedeploymentApi.as_view(), name="api_redeployments"),
]
