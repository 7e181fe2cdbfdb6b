"""Factories for the tenancy core. FINESS numbers are generated valid (Luhn check digit)."""

import itertools

import factory

from hopen.finess import luhn_is_valid
from hopen.models import (
    ActivityFigures,
    Establishment,
    EstablishmentStatus,
    Ght,
    GhtMembershipSource,
    LegalEntity,
    Region,
    Role,
    User,
)
from hopen.services import role_assign

_serial = itertools.count(1)


def make_finess(department="99"):
    """A valid FINESS number in `department` (fictitious department 99 keeps clear of real data)."""
    body = f"{department}{next(_serial):06d}"
    digits = body.replace("2A", "21").replace("2B", "22")
    for check in range(10):
        if luhn_is_valid(f"{digits}{check}"):
            return f"{body}{check}"
    raise AssertionError("unreachable")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{90 - (n % 80):02d}")
    name = factory.LazyAttribute(lambda o: f"Région {o.code}")
    ars_name = factory.LazyAttribute(lambda o: f"ARS {o.name}")


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity

    finess = factory.LazyFunction(make_finess)
    name = factory.Sequence(lambda n: f"Entité juridique {n}")


class GhtFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ght

    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"TST-{n:02d}")
    insee_code = factory.Sequence(lambda n: f"9{n:04d}")
    name = factory.Sequence(lambda n: f"GHT de test {n}")


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment

    finess = factory.LazyFunction(make_finess)
    name = factory.Sequence(lambda n: f"Centre hospitalier de test {n}")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    status = EstablishmentStatus.PUBLIC
    category_code = "355"
    category_label = "Centre hospitalier (CH)"
    region = factory.SubFactory(RegionFactory)
    department = "99"
    city = "Testville"
    has_mco = True
    ght = None
    ght_membership_source = factory.LazyAttribute(lambda o: GhtMembershipSource.INFERRED if o.ght else "")


class ActivityFiguresFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityFigures

    establishment = factory.SubFactory(EstablishmentFactory)
    source_year = 2023
    mco_full_days = 10_000


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@test.hopen.fr")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Agent{n}")
    password = factory.PostGenerationMethodCall("set_password", "mot-de-passe-solide-2019")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def user_with_role(role, **scope):
    user = UserFactory()
    role_assign(user=user, role=role, by=None, **scope)
    return user


def attainment_synced(row):
    """What the indicator services do after every write of a declared value or of its documents — refresh the
    attainment state (`indicators.state.writer`) — for test data written directly with the ORM. `row`: a value, a
    document (its value's establishment) or an establishment, returned unchanged."""
    from indicators.state.writer import refresh_attainment

    value = getattr(row, "value", row)
    refresh_attainment(establishment_ids=[getattr(value, "establishment_id", value.pk)])
    return row


__all__ = ["Role", "attainment_synced", "user_with_role", "make_finess"]

