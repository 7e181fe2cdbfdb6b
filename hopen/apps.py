from django.apps import AppConfig


class HopenConfig(AppConfig):
    name = "hopen"
    verbose_name = "Référentiel et habilitations"

    def ready(self):
        # Authentication events to the audit trail, API tokens revoked on password change and deactivation.
        from .accounts import signals  # noqa: F401
        # The DSFR configuration kept per process forgets itself when edited (its signal receivers).
        from . import site_config  # noqa: F401
        # The audit trail's French vocabulary, collected from every app's `audit_labels.py` once, at startup: a code
        # declared twice fails here rather than on the first page that shows it.
        from .audit_registry import registry

        registry()
