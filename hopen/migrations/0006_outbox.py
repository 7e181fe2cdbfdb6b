# Transactional outbox of the Celery tasks (issue 15 §7): hopen.models.OutboxMessage, written by hopen.tasking.
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("hopen", "0005_audit_hardening")]

    operations = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True, verbose_name="clé")),
                ("task_name", models.CharField(max_length=200, verbose_name="tâche")),
                ("args", models.JSONField(blank=True, default=list, verbose_name="arguments positionnels")),
                ("kwargs", models.JSONField(blank=True, default=dict, verbose_name="arguments nommés")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="créé le")),
                (
                    "sent_at",
                    models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="remis au broker le"),
                ),
                ("consumed_at", models.DateTimeField(blank=True, null=True, verbose_name="exécuté le")),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="tentatives")),
                ("last_error", models.TextField(blank=True, verbose_name="dernière erreur")),
            ],
            options={
                "verbose_name": "message en attente d'envoi",
                "verbose_name_plural": "boîte d'envoi des tâches",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("sent_at__isnull", True)), fields=["id"], name="hopen_outbox_pending"
                    )
                ],
            },
        ),
    ]
