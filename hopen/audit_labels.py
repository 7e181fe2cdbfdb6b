"""Audit trail vocabulary of the tenancy core: habilitations, referential corrections, the SAE import and the
authentication events (`hopen/accounts/`), plus the keys every app's records share (`hopen.audit_registry`)."""

from .audit_registry import DATETIME, NUMBER, TEXT, FieldLabel

ACTIONS = {
    "role.assign": "Habilitation attribuée",
    "role.revoke": "Habilitation retirée",
    "establishment.set_ght": "Rattachement de l'établissement à un GHT corrigé",
    "ght.set_support": "Établissement support du GHT désigné",
    "region.set_ars_contact": "Nom et adresse postale de l'ARS modifiés",
    "sae.create": "Import SAE : création",
    "sae.update": "Import SAE : mise à jour",
    "auth.login": "Connexion",
    "auth.login_failed": "Échec de connexion",
    "auth.lockout": "Compte verrouillé après des échecs de connexion",
    "auth.logout": "Déconnexion",
    "auth.password_reset_request": "Réinitialisation du mot de passe demandée",
    "auth.password_reset_done": "Mot de passe réinitialisé",
    "auth.token_issue": "Jeton d'API délivré",
    "auth.token_revoke": "Jeton d'API révoqué",
    "auth.token_expire": "Jeton d'API expiré",
    "notification.read": "Notification marquée comme lue",
    "notification.read_all": "Toutes les notifications marquées comme lues",
    "export.download": "Export national téléchargé",
}

OBJECT_TYPES = {
    "hopen.user": "Compte utilisateur",
    "hopen.roleassignment": "Habilitation",
}

# Keys of many objects: the authors and dates of a step, the establishment, the programme.
COMMON_FIELDS = {
    "establishment": "établissement",
    "programme": "programme",
    "region": "région",
    "ght": "GHT",
    "dossier": "dossier",
    "domain": "domaine",
    "indicator": "indicateur",
    "catalogue": "version du catalogue",
    "envelope": "enveloppe",
    "user": FieldLabel("compte", related="hopen.user"),
    "created_by": "créé par",
    "created_at": "créé le",
    "updated_at": FieldLabel("modifié le", kind=DATETIME),
    "declared_by": "déclaré par",
    "decided_by": "décidé par",
    "validated_by": "validé par",
    "uploaded_by": "déposé par",
    "deleted_by": "supprimé par",
    "recorded_by": "enregistré par",
    "recorded_at": "enregistré le",
    "set_by": "fixé par",
    "set_at": "fixé le",
    "author": "auteur",
    "description": "description",
    "version": "version",
    "code": "code",
    "source": "source",
    "message": "message",
    "reason": "motif",
    "label": "libellé",
    "members": "établissements candidats",
    "domains": "domaines",
    "file": "fichier stocké",
    "size": "taille",
    "scan_status": "analyse antivirus",
    "scan_detail": "résultat de l'analyse",
    "scanned_at": FieldLabel("analysé le", kind=DATETIME),
}

FIELDS = {
    # Authentication events (hopen/accounts/events.py ALLOWED_DETAILS): the circumstances, never a secret.
    "hopen.user": {
        "ip": "adresse IP du client",
        "channel": FieldLabel(
            "canal", choices=(("form", "formulaire de connexion"), ("api", "API"), ("admin", "administration")),
        ),
        "failures": FieldLabel("échecs consécutifs", kind=NUMBER),
        "locked_out": "compte verrouillé",
        "email": "adresse électronique saisie",
        "tokens": FieldLabel("jetons concernés", kind=NUMBER),
        "token_fingerprint": "empreinte du jeton (12 premiers caractères)",
        "expiry": FieldLabel("expiration", kind=DATETIME),
        "service_account": "compte de service",
        "unread": FieldLabel("notifications non lues", kind=NUMBER),
        # National exports (hopen/national_exports.py): which table, in which format, over which regions.
        "export": FieldLabel("export", choices=(
            ("indicator_values", "valeurs d'indicateurs déclarées"), ("dossiers", "dossiers et sommes du grand livre"),
        )),
        "format": "format",
        "regions": "régions (vide : France entière)",
    },
    "hopen.roleassignment": {"role": FieldLabel("habilitation", kind=TEXT)},
    "hopen.ght": {"support": "établissement support", "support_source": "origine de la désignation du support"},
    "hopen.establishment": {"ght_membership_source": "origine du rattachement au GHT"},
    "hopen.activityfigures": {"establishment": "établissement", "source": "source"},
}

REGION_PATHS = {
    "hopen.region": "pk",
    "hopen.ght": "region",
    "hopen.establishment": "region",
    "hopen.activityfigures": "establishment__region",
    "hopen.roleassignment": "region",
}

NAME_RELATIONS = {"hopen.activityfigures": ("establishment",)}
