# Issue 17 (national scale): the establishment lists are ordered by (name, finess) and show 25 rows a page; with this
# index PostgreSQL reads the first 25 entries instead of sorting every establishment (hopen.models.Establishment).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("hopen", "0006_outbox")]

    operations = [
        migrations.AddIndex(
            model_name="establishment",
            index=models.Index(fields=["name", "finess"], name="establishment_name_finess"),
        ),
    ]
