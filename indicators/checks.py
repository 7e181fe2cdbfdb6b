"""System checks of the uploads: `python manage.py check --deploy` fails when scanning is required (production
settings, `FILE_SCAN_REQUIRED`) and no ClamAV daemon is configured — files would otherwise be kept unscanned."""

from django.conf import settings
from django.core import checks

from .scanning import scanner_configured


@checks.register(checks.Tags.security, deploy=True)
def scanner_is_configured(app_configs=None, **kwargs):
    if getattr(settings, "FILE_SCAN_REQUIRED", False) and not scanner_configured():
        return [
            checks.Error(
                "L'analyse antivirus est obligatoire (FILE_SCAN_REQUIRED) mais aucun antivirus n'est configuré : "
                "les pièces déposées ne pourraient pas être analysées.",
                hint="Indiquez le démon ClamAV : CLAMD_SOCKET (socket Unix) ou CLAMD_HOST et CLAMD_PORT.",
                id="hopen.E151",
            )
        ]
    return []
