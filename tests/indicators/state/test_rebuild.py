"""The state kept by the services equals the state rebuilt from the history (`rebuild_attainment`), on random data."""

import datetime
import random

import pytest
from django.core.management import CommandError, call_command

from hopen.exceptions import ApplicationError
from hopen.models import AuditRecord
from indicators.evidence import evidence_delete, evidence_record_scan
from indicators.models import (
    CurrentValue,
    Evidence,
    EstablishmentState,
    GroupState,
    Indicator,
    IndicatorValue,
    ScanStatus,
    ValueStatus,
)
from indicators.services import ValueInput, value_correct, value_declare, value_save_draft
from indicators.state.writer import rebuild_attainment, state_of
from tests.factories import EstablishmentFactory, Role, user_with_role

DAYS = [datetime.date(2019, 6, 30), datetime.date(2020, 3, 15), datetime.date(2020, 12, 31)]


def random_input(rng, indicator, day):
    """A valid input for `indicator`, reached or not, « non applicable » now and then when allowed."""
    if indicator.not_applicable_allowed and rng.random() < 0.15:
        return ValueInput(measured_on=day, kind="not_applicable", not_applicable_reason="Activité absente")
    if indicator.target_kind == "rate":
        denominator = rng.randint(1, 200)
        return ValueInput(measured_on=day, kind="rate", numerator=rng.randint(0, denominator), denominator=denominator)
    return ValueInput(measured_on=day, kind="existence", exists=rng.random() < 0.7)


def attach(rng, draft, by):
    """0–2 documents on a draft (what `evidence_upload` leaves), some still pending their scan."""
    documents = []
    for n in range(rng.randint(0, 2)):
        documents.append(Evidence.objects.create(
            value=draft, file="evidence/test/piece", original_name=f"piece-{n}.pdf", size=12,
            content_type="application/pdf", sha256=f"{draft.pk:060d}{n:04d}", uploaded_by=by,
            scan_status=rng.choice([ScanStatus.CLEAN, ScanStatus.NOT_SCANNED, ScanStatus.PENDING]),
        ))
    return documents


def random_history(rng, establishments, indicators):
    """Drafts, declarations, corrections (declared or pending), documents deleted or found infected — through the
    services, as users do."""
    for establishment in establishments:
        editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=establishment)
        director = user_with_role(Role.ESTABLISHMENT_DIRECTOR, establishment=establishment)
        for indicator in rng.sample(indicators, k=min(len(indicators), rng.randint(8, 30))):
            for day in rng.sample(DAYS, k=rng.randint(1, len(DAYS))):
                draft = value_save_draft(
                    establishment=establishment, indicator=indicator, data=random_input(rng, indicator, day), by=editor
                )
                documents = attach(rng, draft, editor)
                if documents and rng.random() < 0.3:
                    evidence_delete(evidence=documents[0], by=editor)
                if rng.random() < 0.15:
                    continue  # left as a draft
                value = value_declare(value=draft, by=director)
                for document in value.documents.filter(deleted_at__isnull=True):
                    if rng.random() < 0.2:
                        evidence_record_scan(
                            evidence=document, status=rng.choice([ScanStatus.INFECTED, ScanStatus.CLEAN]), detail="x"
                        )
                if rng.random() < 0.3:
                    correction = value_correct(
                        value=value, reason="Recomptage", data=random_input(rng, indicator, day), by=editor
                    )
                    carried = list(correction.documents.filter(deleted_at__isnull=True))
                    if carried and rng.random() < 0.5:
                        evidence_delete(evidence=carried[0], by=editor)
                    if rng.random() < 0.8:
                        value_declare(value=correction, by=director)


def test_the_state_kept_by_the_services_equals_the_rebuild(tenants, demo_programme):
    rng = random.Random(17)
    establishments = [EstablishmentFactory(region=tenants.region_a) for _ in range(4)] + [tenants.member]
    for programme_code in ("HOPEN", "DEMO2026"):
        indicators = list(Indicator.objects.filter(catalogue__is_current=True, catalogue__programme__code=programme_code))
        random_history(rng, establishments, indicators)

    # The data exercises every case the state follows.
    assert IndicatorValue.objects.filter(status=ValueStatus.SUPERSEDED).exists()
    assert IndicatorValue.objects.filter(status=ValueStatus.DRAFT).exists()
    assert IndicatorValue.objects.filter(status=ValueStatus.DECLARED, kind="not_applicable").exists()
    assert Evidence.objects.filter(scan_status=ScanStatus.INFECTED, value__status=ValueStatus.DECLARED).exists()
    assert Evidence.objects.filter(deleted_at__isnull=False).exists()
    assert EstablishmentState.objects.values("programme").distinct().count() == 2
    assert CurrentValue.objects.count() > 50 and GroupState.objects.exists()

    expected = state_of()  # from the whole history
    assert len(expected.current) == CurrentValue.objects.count()
    assert len(expected.establishments) == EstablishmentState.objects.count()
    assert rebuild_attainment(check=True) == []
    call_command("rebuild_attainment", "--check")
    call_command("rebuild_attainment", "--check", "--programme", "DEMO2026")


def test_check_fails_after_a_tamper_and_the_rebuild_repairs_it(tenants, catalogue, capsys):
    rng = random.Random(5)
    indicators = list(Indicator.objects.filter(catalogue__is_current=True))
    random_history(rng, [tenants.member, tenants.clinic], indicators)
    call_command("rebuild_attainment", "--check")

    row = CurrentValue.objects.filter(establishment=tenants.member).order_by("pk").first()
    CurrentValue.objects.filter(pk=row.pk).update(document_count=row.document_count + 3)
    EstablishmentState.objects.filter(establishment=tenants.clinic).delete()
    with pytest.raises(CommandError, match="2 écart"):
        call_command("rebuild_attainment", "--check", "--programme", "HOPEN")
    assert "valeur en vigueur" in capsys.readouterr().out

    call_command("rebuild_attainment", "--programme", "HOPEN")
    assert AuditRecord.objects.filter(action="attainment_state.rebuild").count() == 1
    call_command("rebuild_attainment", "--check")
    assert CurrentValue.objects.get(value_id=row.value_id).document_count == row.document_count
    assert EstablishmentState.objects.filter(establishment=tenants.clinic).exists()


def test_an_unknown_programme_is_refused(db):
    with pytest.raises(CommandError, match="Programme inconnu"):
        call_command("rebuild_attainment", "--programme", "NOPE")


def test_a_refused_write_leaves_the_state_as_it_was(tenants, catalogue):
    """A declaration refused after its checks (the value already declared) rolls back with the state unchanged."""
    indicator = Indicator.objects.get(code="D1.1", catalogue__programme__code="HOPEN")
    editor = user_with_role(Role.ESTABLISHMENT_EDITOR, establishment=tenants.member)
    draft = value_save_draft(
        establishment=tenants.member, indicator=indicator,
        data=ValueInput(measured_on=DAYS[0], kind="rate", numerator=1, denominator=2), by=editor,
    )
    value_declare(value=draft, by=tenants.director)
    with pytest.raises(ApplicationError):
        value_declare(value=draft, by=tenants.director)
    assert rebuild_attainment(check=True) == []
