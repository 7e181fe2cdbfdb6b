"""Tenancy core: the referential of regions, GHTs and establishments, users and their roles, the audit trail."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from .finess import validate_finess


class Region(models.Model):
    """One of the 18 French regions, each with its ARS (agence régionale de santé)."""

    code = models.CharField("code INSEE", max_length=2, unique=True)
    name = models.CharField("nom", max_length=100, unique=True)
    ars_name = models.CharField("ARS", max_length=120)
    # Printed on the letters the ARS sends (selection, funding decisions, refund claims).
    ars_address = models.TextField("adresse postale de l'ARS", blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "région"

    def __str__(self):
        return self.name


class LegalEntity(models.Model):
    """Entité juridique (FINESS EJ): the legal person owning one or more sites."""

    finess = models.CharField("FINESS EJ", max_length=9, unique=True, validators=[validate_finess])
    name = models.CharField("raison sociale", max_length=255, blank=True)

    class Meta:
        ordering = ["finess"]
        verbose_name = "entité juridique"
        verbose_name_plural = "entités juridiques"

    def __str__(self):
        return f"{self.finess} {self.name}".strip()


class EstablishmentStatus(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE_FOR_PROFIT = "private_for_profit", "Privé lucratif"
    PRIVATE_NON_PROFIT = "private_non_profit", "Privé non lucratif"
    CLCC = "clcc", "Centre de lutte contre le cancer (CLCC)"


class Activity(models.TextChoices):
    MCO = "MCO", "Médecine, chirurgie, obstétrique (MCO)"
    SSR = "SSR", "Soins de suite et de réadaptation (SSR)"
    PSY = "PSY", "Psychiatrie (PSY)"
    HAD = "HAD", "Hospitalisation à domicile (HAD)"


class GhtMembershipSource(models.TextChoices):
    INFERRED = "inferred", "déduit des données SAE"
    MANUAL = "manual", "corrigé par un administrateur"


class Ght(models.Model):
    """Groupement hospitalier de territoire: public establishments of a territory and their support establishment."""

    code = models.CharField("code court", max_length=12, unique=True, help_text="Par exemple HF-03.")
    insee_code = models.CharField("code GHT", max_length=6, unique=True)
    name = models.CharField("nom", max_length=255)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="ghts", verbose_name="région")
    support = models.OneToOneField(
        "Establishment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supported_ght",
        verbose_name="établissement support",
    )
    support_source = models.CharField(
        "origine de l'établissement support", max_length=10, choices=GhtMembershipSource.choices, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "GHT"
        verbose_name_plural = "GHT"

    def __str__(self):
        return f"{self.code} — {self.name}"


class Establishment(models.Model):
    """Établissement de santé (FINESS ET): a hospital site taking part in the programme."""

    finess = models.CharField("FINESS ET", max_length=9, unique=True, validators=[validate_finess])
    name = models.CharField("raison sociale", max_length=255)
    legal_entity = models.ForeignKey(
        LegalEntity, on_delete=models.PROTECT, related_name="establishments", verbose_name="entité juridique"
    )
    status = models.CharField("statut", max_length=24, choices=EstablishmentStatus.choices)
    is_espic = models.BooleanField("ESPIC", default=False)
    category_code = models.CharField("catégorie FINESS", max_length=3)
    category_label = models.CharField("libellé de catégorie", max_length=120)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="establishments", verbose_name="région")
    department = models.CharField("département", max_length=3)
    city = models.CharField("commune", max_length=120, blank=True)
    ght = models.ForeignKey(
        Ght, on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name="GHT"
    )
    ght_membership_source = models.CharField(
        "origine du rattachement au GHT", max_length=10, choices=GhtMembershipSource.choices, blank=True
    )
    has_mco = models.BooleanField("activité MCO", default=False)
    has_ssr = models.BooleanField("activité SSR", default=False)
    has_psy = models.BooleanField("activité PSY", default=False)
    has_had = models.BooleanField("activité HAD", default=False)

    class Meta:
        ordering = ["name", "finess"]
        verbose_name = "établissement"
        permissions = [
            ("enter_data", "Saisir les données de l'établissement"),
            ("declare_data", "Déclarer et valider les données de l'établissement"),
        ]
        constraints = [
            models.CheckConstraint(
                name="establishment_espic_only_non_profit",
                condition=Q(is_espic=False) | Q(status__in=["private_non_profit", "clcc"]),
            ),
            models.CheckConstraint(
                name="establishment_ght_source_set",
                condition=Q(ght__isnull=True) | ~Q(ght_membership_source=""),
            ),
        ]
        indexes = [
            models.Index(fields=["region", "status"]),
            models.Index(fields=["category_code"]),
            # The list pages' order (`ordering`): a page of 25 reads 25 index entries instead of sorting the nation.
            models.Index(fields=["name", "finess"], name="establishment_name_finess"),
        ]

    def __str__(self):
        return f"{self.name} ({self.finess})"

    @property
    def activities(self):
        flags = {Activity.MCO: self.has_mco, Activity.SSR: self.has_ssr, Activity.PSY: self.has_psy, Activity.HAD: self.has_had}
        return [activity for activity, present in flags.items() if present]

    @property
    def status_label(self):
        label = self.get_status_display()
        return f"{label} (ESPIC)" if self.is_espic and self.status == EstablishmentStatus.PRIVATE_NON_PROFIT else label


class ActivityFigures(models.Model):
    """Raw SAE activity figures of one establishment for one year (the inputs of annex 3 §1)."""

    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="activity_figures")
    source_year = models.PositiveSmallIntegerField("année source")
    source = models.CharField("source", max_length=40, default="DREES SAE")
    mco_full_days = models.PositiveIntegerField("MCO : journées d'hospitalisation complète (JOU_MCO)", default=0)
    mco_sessions = models.PositiveIntegerField("MCO : séances (SEA_MCO)", default=0)
    mco_ambulatory_surgery_stays = models.PositiveIntegerField("MCO : séjours de chirurgie ambulatoire (SEJHP_CHI)", default=0)
    mco_medicine_day_stays = models.PositiveIntegerField("MCO : séjours partiels de médecine (SEJHP_MED)", default=0)
    mco_obstetrics_day_stays = models.PositiveIntegerField("MCO : séjours partiels d'obstétrique (SEJHP_OBS)", default=0)
    ssr_full_days = models.PositiveIntegerField("SSR : journées d'hospitalisation complète (JOUHC)", default=0)
    ssr_partial_days = models.PositiveIntegerField("SSR : journées d'hospitalisation partielle (JOUHP)", default=0)
    psy_full_time_days = models.PositiveIntegerField("PSY : journées à temps plein (JOU_HTP)", default=0)
    psy_other_full_time_days = models.PositiveIntegerField(
        "PSY : autres journées à temps plein (JOU_PFT, JOU_AAT, JOU_ACP, JOU_CCU, JOU_HAD)", default=0
    )
    psy_day_attendances = models.PositiveIntegerField("PSY : venues en hôpital de jour (VEN_HDJ)", default=0)
    psy_night_attendances = models.PositiveIntegerField("PSY : venues en hôpital de nuit (VEN_HDN)", default=0)
    had_days = models.PositiveIntegerField("HAD : journées (JOU_HAD)", default=0)

    class Meta:
        ordering = ["-source_year"]
        verbose_name = "activité (SAE)"
        verbose_name_plural = "activités (SAE)"
        constraints = [
            models.UniqueConstraint(fields=["establishment", "source_year", "source"], name="activity_one_per_year")
        ]

    def __str__(self):
        return f"{self.establishment.finess} {self.source} {self.source_year}"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("adresse électronique", unique=True)
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    date_joined = models.DateTimeField("inscription", default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        verbose_name = "utilisateur"

    def __str__(self):
        return self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email


class Role(models.TextChoices):
    ESTABLISHMENT_EDITOR = "establishment_editor", "Établissement — saisie"
    ESTABLISHMENT_DIRECTOR = "establishment_director", "Établissement — direction"
    GHT_SUPPORT_DIRECTOR = "ght_support_director", "Direction de l'établissement support de GHT"
    ARS_OFFICER = "ars_officer", "Chargé de mission ARS"
    DGOS_OFFICER = "dgos_officer", "Chargé de mission DGOS"
    DGOS_AUDITOR = "dgos_auditor", "Auditeur DGOS"
    PLATFORM_ADMIN = "platform_admin", "Administrateur de la plateforme"


ESTABLISHMENT_ROLES = (Role.ESTABLISHMENT_EDITOR, Role.ESTABLISHMENT_DIRECTOR)
NATIONAL_ROLES = (Role.DGOS_OFFICER, Role.DGOS_AUDITOR, Role.PLATFORM_ADMIN)


class RoleAssignment(models.Model):
    """A role a user holds within a scope: an establishment, a GHT, a region, or the nation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField("rôle", max_length=32, choices=Role.choices)
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments"
    )
    ght = models.ForeignKey(Ght, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments")
    granted_at = models.DateTimeField("attribué le", default=timezone.now)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="attribué par"
    )

    class Meta:
        verbose_name = "habilitation"
        ordering = ["user", "role"]
        constraints = [
            models.CheckConstraint(
                name="role_assignment_scope_matches_role",
                condition=(
                    Q(role__in=ESTABLISHMENT_ROLES, establishment__isnull=False, ght__isnull=True, region__isnull=True)
                    | Q(role=Role.GHT_SUPPORT_DIRECTOR, establishment__isnull=True, ght__isnull=False, region__isnull=True)
                    | Q(role=Role.ARS_OFFICER, establishment__isnull=True, ght__isnull=True, region__isnull=False)
                    | Q(role__in=NATIONAL_ROLES, establishment__isnull=True, ght__isnull=True, region__isnull=True)
                ),
                violation_error_message="Le périmètre de l'habilitation ne correspond pas au rôle.",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "establishment", "ght", "region"],
                name="role_assignment_unique",
                nulls_distinct=False,
                violation_error_message="Cet utilisateur a déjà cette habilitation.",
            ),
        ]

    def __str__(self):
        scope = self.establishment or self.ght or self.region or "national"
        return f"{self.user} — {self.get_role_display()} — {scope}"


class EstablishmentUserObjectPermission(UserObjectPermissionBase):
    """Guardian per-object grants on establishments, with a real foreign key so scopes stay one SQL join."""

    content_object = models.ForeignKey(Establishment, on_delete=models.CASCADE)


class EstablishmentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Establishment, on_delete=models.CASCADE)


class AuditRecord(models.Model):
    """One write, as it happened: append-only, each record chained to the previous one by its hash."""

    at = models.DateTimeField("date", default=timezone.now, db_index=True)
    # PROTECT: the chain covers the actor's id, and the table refuses UPDATE — a person who wrote in the trail
    # is deactivated, never deleted.
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_email = models.CharField("auteur", max_length=254, blank=True)
    action = models.CharField("action", max_length=80, db_index=True)
    object_type = models.CharField("type d'objet", max_length=80)
    object_id = models.CharField("identifiant", max_length=64)
    object_repr = models.CharField("objet", max_length=255, blank=True)
    changes = models.JSONField("modifications", default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    # Format of `hash` (hopen/audit.py): 1 before the hardening of issue 15 (actor's id not covered), 2 since.
    hash_version = models.PositiveSmallIntegerField("format d'empreinte", default=2)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "trace d'audit"
        verbose_name_plural = "piste d'audit"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or 'système'} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("La piste d'audit est en ajout seul : une trace ne peut pas être modifiée.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("La piste d'audit est en ajout seul : une trace ne peut pas être supprimée.")


class AuditAnchor(models.Model):
    """The audit trail as it stood at the end of one day: its last record, that record's hash and the count of
    records up to it. Append-only in the database, and also written to the log, so that deleting the latest
    records or rewriting a record with every following hash recomputed no longer goes unnoticed."""

    day = models.DateField("jour", unique=True)
    last_record_id = models.BigIntegerField("dernière trace", null=True, blank=True)
    last_hash = models.CharField("dernière empreinte", max_length=64)
    count = models.PositiveIntegerField("traces du jour")
    total = models.PositiveBigIntegerField("traces depuis l'origine")
    created_at = models.DateTimeField("ancrée le", default=timezone.now)

    class Meta:
        ordering = ["-day"]
        verbose_name = "ancre de la piste d'audit"
        verbose_name_plural = "ancres de la piste d'audit"

    def __str__(self):
        return f"{self.day:%d/%m/%Y} : {self.total} trace(s), {self.last_hash[:12]}…"


class Notification(models.Model):
    """In-app notification; its e-mail copy leaves through Celery after commit (`hopen.notifications.notify`)."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField("message", max_length=500)
    link = models.CharField("lien", max_length=300, blank=True)
    created_at = models.DateTimeField("envoyée le", default=timezone.now)
    read_at = models.DateTimeField("lue le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "notification"
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return f"{self.recipient}: {self.message[:60]}"


class OutboxMessage(models.Model):
    """A Celery task decided by a write, recorded in that write's transaction (transactional outbox, issue 15 §7).

    Published right after the commit (`hopen.tasking`); while the broker is down the row stays pending and the
    relay (`manage.py relay_outbox`) sends it once the broker is back. `key` is unique: the same key enqueued
    twice is one message. Sent rows are kept a while (`consumed_at` makes a redelivered e-mail a no-op), then purged.
    """

    key = models.CharField("clé", max_length=200, unique=True)
    task_name = models.CharField("tâche", max_length=200)
    args = models.JSONField("arguments positionnels", default=list, blank=True)
    kwargs = models.JSONField("arguments nommés", default=dict, blank=True)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    sent_at = models.DateTimeField("remis au broker le", null=True, blank=True, db_index=True)
    consumed_at = models.DateTimeField("exécuté le", null=True, blank=True)
    attempts = models.PositiveIntegerField("tentatives", default=0)
    last_error = models.TextField("dernière erreur", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "message en attente d'envoi"
        verbose_name_plural = "boîte d'envoi des tâches"
        # The relay reads only the pending rows, oldest first.
        indexes = [models.Index(fields=["id"], condition=Q(sent_at__isnull=True), name="hopen_outbox_pending")]

    def __str__(self):
        return f"{self.task_name} ({self.key})"
