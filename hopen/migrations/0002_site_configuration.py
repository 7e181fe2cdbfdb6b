from django.db import migrations


def configure_site(apps, schema_editor):
    DsfrConfig = apps.get_model("dsfr", "DsfrConfig")
    DsfrConfig.objects.update_or_create(
        language="fr",
        defaults={
            "site_title": "HOP'EN",
            "site_tagline": "Observatoire du programme Hôpital numérique ouvert sur son environnement",
            "header_brand": "République française",
            "header_brand_html": "République<br />française",
            "footer_brand": "République française",
            "footer_brand_html": "République<br />française",
            "footer_description": (
                "Plateforme de suivi du programme HOP'EN : indicateurs, candidatures et financements "
                "des établissements de santé. Direction générale de l'offre de soins (DGOS)."
            ),
            "beta_tag": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("hopen", "0001_initial"), ("dsfr", "0012_dsfrconfig_notice_description_and_more")]
    operations = [migrations.RunPython(configure_site, migrations.RunPython.noop)]
