from django.apps import AppConfig


class HopenConfig(AppConfig):
    name = "hopen"
    verbose_name = "Référentiel et habilitations"
