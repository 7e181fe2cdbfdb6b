"""Download of a dossier's letters (PDF): only through the permission policy — a dossier out of the user's scope
answers 404, as does a letter not generated yet."""

import logging

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from hopen import permissions

from .models import DossierLetter

logger = logging.getLogger(__name__)


def letter_filename(letter) -> str:
    """« courrier-de-selection-HOPEN-32-0001-SEL-01.pdf »: ASCII, no quote nor path separator."""
    reference = "".join(c if c.isalnum() or c in "-_" else "-" for c in letter.reference)
    return f"{slugify(letter.get_kind_display())}-{reference}.pdf"


@require_safe
@login_required
def letter_download(request, reference, letter_reference):
    dossier = permissions.get_dossier_for_reading(request.user, reference)
    letter = DossierLetter.objects.filter(dossier=dossier, reference=letter_reference).first()
    if letter is None:
        raise Http404("Courrier introuvable.")
    if letter.generated_at is None or not letter.file:
        raise Http404("Ce courrier est en cours de génération : réessayez dans quelques instants.")
    try:
        stored = letter.file.storage.open(letter.file.name, "rb")
    except FileNotFoundError:
        logger.error("Courrier %s : fichier %s absent du stockage", letter.reference, letter.file.name)
        raise Http404("Le fichier de ce courrier est introuvable ; signalez-le à l'administrateur.")
    response = FileResponse(stored, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{letter_filename(letter)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
