"""Manufacturers register products and commission batches of serialized packs."""

import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.keys import custodial_sign
from traceability.models import Batch, Organisation, Pack, Product
from traceability.statement_log import statements_append

SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
SERIAL_LENGTH = 12  # 32**12 = 2**60 possible serials: not guessable
PACKS_PER_STATEMENT = 500  # keeps each ledger entry well under its size limit
MAX_BATCH_QUANTITY = 1_000_000


class CustodyRefused(ValueError):
    """A custody action breaks a rule; the message names the rule."""


def _validated(instance, *, exclude: list[str]) -> None:
    """Model validation as a CustodyRefused naming each field and its problem."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise CustodyRefused(problems) from None


def _require_role(org: Organisation, role: str, action: str) -> None:
    if org.role != role:
        raise CustodyRefused(f"only a {role} may {action}; {org.name} is a {org.role}")


@transaction.atomic
def product_register(*, manufacturer: Organisation, gtin: str, name: str) -> Product:
    _require_role(manufacturer, Organisation.Role.MANUFACTURER, "register a product")
    product = Product(gtin=gtin, name=name.strip(), manufacturer=manufacturer, registered_entry=0)
    _validated(product, exclude=["registered_entry"])
    signed = custodial_sign(
        organisation=manufacturer, kind="product.register", body={"gtin": gtin, "name": name}
    )
    statements_append([signed])
    return Product.objects.get(gtin=gtin)


def serials_generate(count: int) -> list[str]:
    """Random, non-sequential serials (unique within the returned list)."""
    serials: set[str] = set()
    while len(serials) < count:
        serials.add("".join(secrets.choice(SERIAL_ALPHABET) for _ in range(SERIAL_LENGTH)))
    return list(serials)


@transaction.atomic
def batch_commission(
    *,
    manufacturer: Organisation,
    product: Product,
    lot: str,
    manufactured_on: date,
    expires_on: date,
    quantity: int,
    serialized: bool = True,
) -> Batch:
    """Create a batch and commission `quantity` serialized packs into it, or,
    not `serialized`, a lot-level quantity that moves by count."""
    _require_role(manufacturer, Organisation.Role.MANUFACTURER, "commission packs")
    if product.manufacturer_id != manufacturer.pk:
        raise CustodyRefused(f"{product} is not {manufacturer.name}'s product")
    if not 1 <= quantity <= MAX_BATCH_QUANTITY:
        raise CustodyRefused(f"quantity must be between 1 and {MAX_BATCH_QUANTITY:,}")
    batch = Batch(
        product=product,
        lot=lot,
        manufactured_on=manufactured_on,
        expires_on=expires_on,
        quantity=quantity,
        created_entry=0,
    )
    if expires_on <= manufactured_on:
        raise CustodyRefused("expires_on must be after manufactured_on")
    if Batch.objects.filter(product=product, lot=lot).exists():
        raise CustodyRefused(f"lot {lot} of {product.name} is commissioned already")
    _validated(batch, exclude=["created_entry"])
    ilmd = epcis_shapes.batch_ilmd(lot=lot, manufactured_on=manufactured_on, expires_on=expires_on)
    if serialized:
        signed = _serials_commission(manufacturer, product, quantity, ilmd)
    else:
        event = epcis_shapes.object_event(
            action="ADD",
            biz_step="commissioning",
            disposition="active",
            epcs=[],
            when=timezone.now(),
            ilmd=ilmd,
            quantityList=epcis_shapes.quantity_list({(product.gtin, lot): quantity}),
        )
        signed = [custodial_sign(organisation=manufacturer, kind="commission", body=event)]
    statements_append(signed)
    return Batch.objects.get(product=product, lot=lot)


def _serials_commission(manufacturer, product: Product, quantity: int, ilmd: dict) -> list:
    """Signed commission events for `quantity` new packs with random serials."""
    serials = serials_generate(quantity)
    taken = set(
        Pack.objects.filter(gtin=product.gtin, serial__in=serials).values_list("serial", flat=True)
    )
    if taken:  # astronomically unlikely with 60-bit serials, but never commission twice
        raise CustodyRefused(f"serial {sorted(taken)[0]} is commissioned already; try again")
    now = timezone.now()
    batch_of_statements = []
    for start in range(0, quantity, PACKS_PER_STATEMENT):
        chunk = serials[start : start + PACKS_PER_STATEMENT]
        event = epcis_shapes.object_event(
            action="ADD",
            biz_step="commissioning",
            disposition="active",
            epcs=[epcis_shapes.sgtin_uri(product.gtin, s) for s in chunk],
            when=now,
            ilmd=ilmd,
        )
        batch_of_statements.append(
            custodial_sign(organisation=manufacturer, kind="commission", body=event)
        )
    return batch_of_statements
