"""The API of a referential import: `POST …/import/` with a multipart `file` and `dry_run=true|false`.

Answer: `{"created": n, "updated": n, "unchanged": n, "errors": [{"line": n, "message": "…"}], "dry_run": bool}` —
200 for a dry run (whether or not lines are in error) and for a write; 400 with the same shape when the file cannot
be read (`line` null, plus `detail`) or when a write is asked for a file with lines in error (nothing written).
403 for any user but the DGOS officer and the platform administrator, before the file is read.
"""

import hashlib

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from hopen import permissions
from hopen.exceptions import ApplicationError
from hopen.input_guard import GuardedFormParser, GuardedMultiPartParser
from indicators.bulk import parsing

from . import engine

TRUE, FALSE = {"true", "1", "oui", "yes"}, {"false", "0", "non", "no"}


class CanImportReferentials(BasePermission):
    message = "L'import des référentiels est réservé à la DGOS et à l'administrateur de la plateforme."

    def has_permission(self, request, view):
        return permissions.can_import_referentials(request.user)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Fichier CSV (« ; » ou « , », UTF-8 ou Latin-1) ou XLSX suivant le modèle.")
    dry_run = serializers.BooleanField(
        required=False, default=True, help_text="`true` (par défaut) : vérification seule, rien n'est écrit."
    )


IMPORT_REPORT = inline_serializer(
    "ReferentialImportReport",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": serializers.ListField(
            child=inline_serializer(
                "ReferentialImportError",
                fields={"line": serializers.IntegerField(allow_null=True), "message": serializers.CharField()},
            )
        ),
        "dry_run": serializers.BooleanField(),
    },
)


# A 400 is the report, or a bare `{"detail"}` when the body is refused before it is read (hopen/input_guard.py).
IMPORT_REFUSAL = {
    "anyOf": [
        {"$ref": "#/components/schemas/ReferentialImportReport"},
        {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
    ]
}


def import_schema(*, operation_id: str, summary: str, description: str):
    return extend_schema(
        tags=["référentiels"], operation_id=operation_id, summary=summary, description=description,
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: IMPORT_REPORT,
            400: OpenApiResponse(
                IMPORT_REFUSAL,
                description="Fichier illisible, ou écriture demandée avec des lignes en erreur (le compte rendu) ; "
                "requête refusée avant lecture, caractère de contrôle par exemple (`detail` seul).",
            ),
            403: OpenApiResponse(description="Réservé à la DGOS et à l'administrateur de la plateforme."),
        },
    )


class ReferentialImportApi(APIView):
    """Subclasses set `spec` and decorate `post` with `import_schema`."""

    spec: engine.ReferentialSpec = None
    permission_classes = [IsAuthenticated, CanImportReferentials]
    parser_classes = [GuardedMultiPartParser, GuardedFormParser]  # hopen/input_guard.py

    def post(self, request):
        dry_run_text = str(request.data.get("dry_run", "true")).strip().lower()
        if dry_run_text not in TRUE | FALSE:
            return _refused("dry_run : valeur attendue true ou false.", dry_run=True)
        dry_run = dry_run_text in TRUE
        upload = request.FILES.get("file")
        if upload is None:
            return _refused("Joignez le fichier dans le champ « file » (multipart/form-data).", dry_run=dry_run)
        limit = settings.EVIDENCE_MAX_UPLOAD_SIZE
        if upload.size > limit:
            return _refused(f"Le fichier dépasse la taille maximale autorisée ({parsing.size_label(limit)}).", dry_run)
        content = upload.read()
        try:
            plan = engine.import_file(
                self.spec, content, upload.name, by=request.user, dry_run=dry_run,
                sha256=hashlib.sha256(content).hexdigest(),
            )
        except ApplicationError as exc:
            return _refused(exc.message, dry_run)
        report = {**plan.as_report(), "dry_run": dry_run}
        if not dry_run and not plan.is_valid:
            report["detail"] = "Le fichier contient des lignes en erreur : rien n'a été enregistré."
            return Response(report, status=status.HTTP_400_BAD_REQUEST)
        return Response(report)


def _refused(message, dry_run):
    return Response(
        {"detail": message, "created": 0, "updated": 0, "unchanged": 0, "errors": [{"line": None, "message": message}],
         "dry_run": dry_run},
        status=status.HTTP_400_BAD_REQUEST,
    )
