"""A pharmacy's pack actions at the counter, after a verification: dispense,
undo a dispense, report a pack stolen, destroyed or supplied as a free sample.

Each is one signed ledger statement (EPCIS ObjectEvent) held to the custody
rules (custody_rules, where the EMVS undo rule lives: the same pharmacy,
within 10 days, while the pack is not recalled or expired) and applied by the
projections. API clients sign the same kinds themselves.
"""

from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.custody_rules import UNDO_WINDOW, undo_refusal
from traceability.custody_state import EVENT_SHAPE
from traceability.keys import custodial_sign
from traceability.models import Organisation, Pack
from traceability.shipping import custody_append, packs_decommission

__all__ = [
    "UNDO_WINDOW",
    "pack_destroy",
    "pack_dispense",
    "pack_report_stolen",
    "pack_supply_sample",
    "pack_undo_dispense",
    "undo_refusal",
]


def pack_dispense(*, pharmacy: Organisation, gtin: str, serial: str) -> Pack:
    return packs_decommission(
        holder=pharmacy, sgtins=[(gtin, serial)], status=Pack.Status.SUPPLIED
    )[0]


def pack_destroy(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    return packs_decommission(holder=holder, sgtins=[(gtin, serial)], status=Pack.Status.DESTROYED)[
        0
    ]


@transaction.atomic
def _state_change(org: Organisation, kind: str, gtin: str, serial: str, **extra) -> Pack:
    _, action, biz_step, disposition = EVENT_SHAPE[kind]
    body = epcis_shapes.object_event(
        action=action,
        biz_step=biz_step,
        disposition=disposition,
        epcs=[epcis_shapes.sgtin_uri(gtin, serial)],
        when=timezone.now(),
        **extra,
    )
    custody_append(org, [custodial_sign(organisation=org, kind=kind, body=body)])
    return Pack.objects.get(gtin=gtin, serial=serial)


def pack_report_stolen(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    """The holder reports a pack in its stock stolen: it may never move again."""
    return _state_change(holder, "stolen", gtin, serial)


def pack_supply_sample(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    """The holder supplies a pack in its stock as a free sample."""
    return _state_change(holder, "sample", gtin, serial)


def pack_undo_dispense(*, pharmacy: Organisation, gtin: str, serial: str) -> Pack:
    """Put a pack the pharmacy dispensed back into its stock (EMVS undo). The rules
    check, under lock, that `undoes` is still the pack's latest entry."""
    dispensed = Pack.objects.filter(gtin=gtin, serial=serial).values_list("last_entry", flat=True)
    return _state_change(pharmacy, "dispense.undo", gtin, serial, undoes=dispensed.first())
