"""Users, logged-in clients and custody moves for the screen tests."""

import itertools

from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import token_create
from traceability.models import Member, Pack
from traceability.shipping import shipment_create, shipment_receive

PASSWORD = "a long enough test password"
_users = itertools.count(1)


def member_of(org, username=None):
    """A user of `org` who can log in with PASSWORD."""
    user = get_user_model().objects.create_user(
        username or f"user{next(_users)}", password=PASSWORD
    )
    Member.objects.create(user=user, organisation=org)
    return user


def logged_in(org, **client_options) -> Client:
    client = Client(**client_options)
    client.force_login(member_of(org))
    return client


def bearer(org, name="integration") -> Client:
    """A client that authenticates like an integrator: an API token, no session."""
    _, token = token_create(user=member_of(org), name=name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def sgtins(packs):
    return [(p.gtin, p.serial) for p in packs]


def in_stock(batch, org):
    return list(
        batch.packs.filter(
            custodian=org, status=Pack.Status.ACTIVE, shipment__isnull=True
        ).order_by("pk")
    )


def ship(batch, sender, receiver, n):
    packs = in_stock(batch, sender)[:n]
    return shipment_create(sender=sender, receiver=receiver, sgtins=sgtins(packs))


def deliver(batch, sender, receiver, n):
    return shipment_receive(receiver=receiver, shipment=ship(batch, sender, receiver, n))
