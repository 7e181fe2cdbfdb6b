import datetime

import pytest

from ami.services import DomainChoice, PreCandidatureInput

ON_TIME = datetime.datetime(2019, 5, 15, 10, 0, tzinfo=datetime.timezone.utc)
LATE = datetime.datetime(2020, 3, 1, 10, 0, tzinfo=datetime.timezone.utc)
TOO_LATE = datetime.datetime(2022, 1, 3, 10, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def ami_input():
    """A valid pre-candidature: position « Définitive », D2 then D3 (annex 5 choices)."""

    def build(**overrides):
        data = PreCandidatureInput(
            position="final",
            hn_prerequisites_reached=True,
            hopen_prerequisites_forecast="2020 S2",
            domains=[
                DomainChoice("D2", "2021 S1", 1, "Déploiement du DPI sur 4 pôles, observation 3 mois"),
                DomainChoice("D3", "2022 S1", 2),
            ],
            referent_name="Claire Martin",
            referent_function="DSI",
            referent_email="claire.martin@ch-test.fr",
            referent_phone="03 20 00 00 00",
            legal_representative_name="Jean Dupont",
            legal_representative_function="Directeur",
            comment="Projet inscrit au schéma directeur du GHT.",
        )
        for key, value in overrides.items():
            setattr(data, key, value)
        return data

    return build


def hopen_programme():
    from indicators.models import Programme

    return Programme.objects.get(code="HOPEN")


def save_draft(*, establishment, data, by, now=ON_TIME, programme=None):
    """`pre_candidature_save` on HOP'EN (by default) at a moment of its AMI window: HOP'EN's own calendar closed on
    31/12/2021 (§5.3.2), so a draft is saved at the moment the test files it (by default 15/05/2019, on time)."""
    from ami.services import pre_candidature_save

    return pre_candidature_save(
        establishment=establishment, programme=programme or hopen_programme(), data=data, by=by, now=now
    )
