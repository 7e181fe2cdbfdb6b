from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Indicateurs"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy check of the antivirus)
