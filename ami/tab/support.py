"""The GHT support establishment's queue of its members' pre-candidatures to validate (§5.3.2)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from hopen import permissions
from hopen.exceptions import ApplicationError, PermissionRefused

from .. import services
from ..models import FilingStatus, PreCandidature


def _filing_state(programme):
    try:
        return services.filing_state(programme, timezone.localdate())
    except ApplicationError:  # the programme's calendar declares no AMI window: the service refuses with its reason
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def support_queue(request):
    """§5.3.2: « la pré-candidature doit être validée par le directeur d'établissement et le directeur
    d'établissement support » — the support director sees its members' pre-candidatures waiting for it."""
    scope = permissions.scope_of(request.user)
    if not scope.ght_ids:
        raise PermissionDenied("Cette page est réservée à la direction de l'établissement support d'un GHT.")
    error = ""
    status = 200
    if request.method == "POST":
        pk = request.POST.get("pre_candidature", "").strip()
        pre_candidature = (
            PreCandidature.objects.select_related("establishment")
            .filter(pk=int(pk), establishment__ght_id__in=scope.ght_ids)
            .first()
            if pk.isdigit()
            else None
        )
        if pre_candidature is None:
            raise Http404("Pré-candidature introuvable.")
        try:
            services.pre_candidature_validate_as_support(pre_candidature=pre_candidature, by=request.user)
        except PermissionRefused as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            error, status = f"{pre_candidature.establishment.name} : {exc.message}", 409
        else:
            messages.success(
                request,
                f"Pré-candidature de {pre_candidature.establishment.name} validée par l'établissement support : "
                "elle est déposée auprès de l'ARS.",
            )
            return redirect("ami:support_queue")
    rows = list(
        PreCandidature.objects.filter(establishment__ght_id__in=scope.ght_ids, programme=request.programme)
        .exclude(establishment__ght__support_id=None)
        .select_related("establishment__ght", "validated_by", "support_validated_by")
        .prefetch_related("domains")
        .order_by("establishment__ght__code", "establishment__name")
    )
    rows = [p for p in rows if p.establishment.ght.support_id != p.establishment_id]
    context = {
        "programme": request.programme,
        # §5.3.2 « Etape 1 »: outside the AMI windows the validation is refused; the queue says so up front.
        "filing": _filing_state(request.programme),
        "waiting": [p for p in rows if p.status == FilingStatus.AWAITING_SUPPORT],
        "others": [p for p in rows if p.status != FilingStatus.AWAITING_SUPPORT],
        "error": error,
    }
    return render(request, "ami/support_queue.html", context, status=status)
