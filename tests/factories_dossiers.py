"""Factories for dossiers and envelopes. They write rows directly (arrange only): tests of behaviour go
through the services of funding.dossiers.services and envelopes.services."""

import datetime
import itertools
from decimal import Decimal

import factory

from envelopes.ledger import Movement, append_many
from envelopes.models import EntryKind, Envelope, Pot
from funding.models import Dossier, DossierDomain, DossierDomainShare, DossierMember
from indicators.models import Programme

from .factories import EstablishmentFactory, UserFactory

_references = itertools.count(1)


def hopen_programme():
    programme, _ = Programme.objects.get_or_create(code="HOPEN", defaults={"name": "HOP'EN"})
    return programme


class DossierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dossier
        skip_postgeneration_save = True  # the hooks add related rows, not fields of the instance

    programme = factory.LazyFunction(hopen_programme)
    reference = factory.LazyFunction(lambda: f"TEST-{next(_references):06d}")
    establishment = factory.SubFactory(EstablishmentFactory)
    region = factory.LazyAttribute(lambda o: o.establishment.region)
    created_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def with_member(obj, create, extracted, **kwargs):
        if create and extracted is not False and obj.ght_id is None:
            DossierMember.objects.get_or_create(dossier=obj, establishment=obj.establishment)


class DossierDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DossierDomain
        skip_postgeneration_save = True

    dossier = factory.SubFactory(DossierFactory)
    domain_code = "D2"
    target_deadline_initial = datetime.date(2022, 6, 30)
    target_deadline = factory.LazyAttribute(lambda o: o.target_deadline_initial)
    total_amount = Decimal("300000.00")

    @factory.post_generation
    def with_share(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            DossierDomainShare.objects.get_or_create(
                domain=obj, establishment=obj.dossier.establishment, defaults={"amount": obj.total_amount}
            )


DELEGATED_ON = datetime.date(2019, 1, 1)


def open_envelope(region, *, seed=Decimal("200000.00"), usage=Decimal("800000.00"), delegated=True) -> Envelope:
    """An envelope for `region` with the given allocations (euros), through the ledger. `delegated`: the DGOS has
    also delegated both pots in full on 01/01/2019 (annex 2 §3: commitments stay within the delegated credits), so
    that the tests of the dossiers commit at any date; False: nothing delegated yet."""
    from django.db import transaction

    envelope, _ = Envelope.objects.get_or_create(programme=hopen_programme(), region=region)
    movements = [
        Movement(envelope_id=envelope.pk, kind=EntryKind.ALLOCATION, pot=Pot.SEED, amount=seed, label="Dotation amorçage (test)"),
        Movement(envelope_id=envelope.pk, kind=EntryKind.ALLOCATION, pot=Pot.USAGE, amount=usage, label="Dotation usage (test)"),
    ]
    if delegated:
        movements += [
            Movement(
                envelope_id=envelope.pk, kind=EntryKind.DELEGATION, pot=pot, amount=amount, effective_on=DELEGATED_ON,
                reference="Circulaire (test)", label=f"Délégation {pot} (test)",
            )
            for pot, amount in ((Pot.SEED, seed), (Pot.USAGE, usage))
        ]
    with transaction.atomic():
        append_many(movements)
    return envelope
