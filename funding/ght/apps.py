from django.apps import AppConfig


class GhtConfig(AppConfig):
    name = "funding.ght"
    label = "ght"
    verbose_name = "Gouvernance SI des GHT"
