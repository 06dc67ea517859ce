"""A pharmacy's pack actions at the counter, after a verification: dispense,
undo a dispense, report a pack stolen, destroyed or supplied as a free sample.

Each is one signed ledger statement (EPCIS ObjectEvent) applied by the
projections. Dispense and destroy are shipping.packs_decommission; the others
live here. The EMVS rule for undo: the same pharmacy, within 10 days, and
only while the pack has not since been recalled, expired or reported stolen.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.keys import custodial_sign
from traceability.models import Organisation, Pack, StatementRecord
from traceability.projections import PACK_STATE_KINDS
from traceability.recall_state import batch_is_recalled
from traceability.shipping import HOLDING_ROLES, check_movable, packs_decommission, packs_locked
from traceability.statement_log import statements_append

UNDO_WINDOW = timedelta(days=10)

# kind -> (EPCIS bizStep, disposition, roles that may sign it, what it is called)
STATE_EVENTS = {
    "stolen": ("decommissioning", "stolen", HOLDING_ROLES, "report a pack stolen"),
    "sample": ("sampling", "non_sellable_other", HOLDING_ROLES, "supply a free sample"),
    "dispense.undo": ("stocking", "active", {Organisation.Role.PHARMACY}, "undo a dispense"),
}
assert STATE_EVENTS.keys() == PACK_STATE_KINDS.keys()


def pack_dispense(*, pharmacy: Organisation, gtin: str, serial: str) -> Pack:
    return packs_decommission(
        holder=pharmacy, sgtins=[(gtin, serial)], status=Pack.Status.SUPPLIED
    )[0]


def pack_destroy(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    return packs_decommission(holder=holder, sgtins=[(gtin, serial)], status=Pack.Status.DESTROYED)[
        0
    ]


def _sign_state(org: Organisation, kind: str, pack: Pack, **extra) -> None:
    biz_step, disposition, roles, action = STATE_EVENTS[kind]
    if org.role not in roles:
        raise CustodyRefused(f"a {org.role} may not {action}")
    body = epcis_shapes.object_event(
        action="OBSERVE",
        biz_step=biz_step,
        disposition=disposition,
        epcs=[epcis_shapes.sgtin_uri(pack.gtin, pack.serial)],
        when=timezone.now(),
        **extra,
    )
    statements_append([custodial_sign(organisation=org, kind=kind, body=body)])


def _one_locked(gtin: str, serial: str) -> Pack:
    return packs_locked([(gtin, serial)])[0]


@transaction.atomic
def pack_report_stolen(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    """The holder reports a pack in its stock stolen: it may never move again."""
    pack = _one_locked(gtin, serial)
    check_movable(pack, holder)
    _sign_state(holder, "stolen", pack)
    pack.refresh_from_db()
    return pack


@transaction.atomic
def pack_supply_sample(*, holder: Organisation, gtin: str, serial: str) -> Pack:
    """The holder supplies a pack in its stock as a free sample."""
    pack = _one_locked(gtin, serial)
    check_movable(pack, holder)
    _sign_state(holder, "sample", pack)
    pack.refresh_from_db()
    return pack


def undo_refusal(pack: Pack, pharmacy: Organisation, *, now=None) -> str | None:
    """Why `pharmacy` may not undo the pack's dispense now, or None if it may."""
    where = f"pack {pack.gtin}/{pack.serial}"
    if pack.status != Pack.Status.SUPPLIED:
        return f"{where} is {pack.status}, not dispensed"
    dispensed = StatementRecord.objects.filter(entry=pack.last_entry).first()
    if dispensed is None or dispensed.kind != "dispense":
        return f"{where} was not dispensed by its latest event"
    if dispensed.organisation_id != pharmacy.pk:
        return f"only the pharmacy that dispensed {where} may undo it"
    now = now or timezone.now()
    if now - dispensed.issued_at > UNDO_WINDOW:
        return f"{where} was dispensed more than {UNDO_WINDOW.days} days ago"
    if batch_is_recalled(pack.batch):
        return f"{where} belongs to recalled lot {pack.batch.lot}"
    if pack.batch.expires_on < now.date():
        return f"{where} expired on {pack.batch.expires_on.isoformat()}"
    return None


@transaction.atomic
def pack_undo_dispense(*, pharmacy: Organisation, gtin: str, serial: str) -> Pack:
    """Put a pack the pharmacy dispensed back into its stock (EMVS undo)."""
    pack = _one_locked(gtin, serial)
    refusal = undo_refusal(pack, pharmacy)
    if refusal:
        raise CustodyRefused(refusal)
    _sign_state(pharmacy, "dispense.undo", pack, undoes=pack.last_entry)
    pack.refresh_from_db()
    return pack
