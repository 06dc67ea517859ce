"""Demo data: a small but realistic supply chain, built through the real services."""

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from traceability import keys
from traceability.aggregation import case_pack, case_unpack, sscc_new
from traceability.commissioning import batch_commission, product_register
from traceability.models import Batch, Member, Organisation, Pack, Product, Recall
from traceability.recalls import recall_acknowledge, recall_issue, recall_quarantine
from traceability.shipping import packs_decommission, shipment_create, shipment_receive

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
SAMPLES = 5


def demo_spec() -> dict:
    return json.loads(DEMO_FILE.read_text())


def _organisations(spec: dict) -> dict[str, Organisation]:
    orgs = {}
    for item in spec["organisations"]:
        fields = {k: item[k] for k in ("name", "role", "gln", "licence_number", "country")}
        org = Organisation(**fields)
        org.full_clean()
        org.save()
        orgs[item["key"]] = org
        user = get_user_model().objects.create_user(
            item["user"]["username"],
            password=item["user"]["password"],
            first_name=item["user"]["first_name"],
            last_name=item["user"]["last_name"],
        )
        Member.objects.create(user=user, organisation=org)
    return orgs


def _held(batch: Batch, holder: Organisation, count: int) -> list[tuple[str, str]]:
    packs = batch.packs.filter(
        custodian=holder, status=Pack.Status.ACTIVE, shipment__isnull=True
    ).order_by("pk")[:count]
    return [(p.gtin, p.serial) for p in packs]


@transaction.atomic
def demo_seed(spec: dict) -> None:
    orgs = _organisations(spec)
    regulator = next(o for o in orgs.values() if o.role == Organisation.Role.REGULATOR)
    keys.root_bootstrap(regulator=regulator)
    for org in orgs.values():
        if org != regulator:
            keys.key_register(organisation=org, registered_by=regulator)
    for item in spec["products"]:
        product_register(
            manufacturer=orgs[item["manufacturer"]], gtin=item["gtin"], name=item["name"]
        )
    for item in spec["batches"]:
        product = Product.objects.get(gtin=item["gtin"])
        batch_commission(
            manufacturer=product.manufacturer,
            product=product,
            lot=item["lot"],
            manufactured_on=date.fromisoformat(item["manufactured_on"]),
            expires_on=date.fromisoformat(item["expires_on"]),
            quantity=item["quantity"],
            serialized=item.get("serialized", True),
        )
    for flow in spec["flows"]:
        _flow(flow, orgs)
    for item in spec["dispense"]:
        batch = Batch.objects.get(product__gtin=item["gtin"], lot=item["lot"])
        pharmacy = orgs[item["pharmacy"]]
        packs_decommission(
            holder=pharmacy,
            sgtins=_held(batch, pharmacy, item["count"]),
            status=Pack.Status.SUPPLIED,
        )
    if spec.get("recall"):
        _demo_recall(spec, orgs)


def _demo_recall(spec: dict, orgs: dict[str, Organisation]) -> None:
    """Recall the batch the spec names (it has reached distributors and pharmacies,
    some packs dispensed); one pharmacy has answered already."""
    item = spec["recall"]
    batch = Batch.objects.get(product__gtin=item["gtin"], lot=item["lot"])
    recall = recall_issue(
        issuer=orgs[item["issuer"]],
        batches=[batch],
        recall_class=item["class"],
        reason=item["reason"],
        instructions=item["instructions"],
    )
    for key in item["answered_by"]:
        recall_acknowledge(holder=orgs[key], recall=recall)
        recall_quarantine(holder=orgs[key], recall=recall)


def demo_recalled_batch() -> dict | None:
    recall = Recall.objects.order_by("issued_entry").first()
    batch = recall.batches.select_related("product").first() if recall else None
    return {"gtin": batch.product.gtin, "lot": batch.lot} if batch else None


def _flow(flow: dict, orgs: dict[str, Organisation]) -> None:
    """One shipment: counted packs, packs packed into a case first, or lot units."""
    batch = Batch.objects.get(product__gtin=flow["gtin"], lot=flow["lot"])
    sender, receiver = orgs[flow["from"]], orgs[flow["to"]]
    if "units" in flow:
        goods = {"lots": {(flow["gtin"], flow["lot"]): flow["units"]}}
    elif flow.get("in_case"):
        case = case_pack(
            holder=sender, sscc=sscc_new(sender), sgtins=_held(batch, sender, flow["count"])
        )
        goods = {"ssccs": [case.sscc]}
    else:
        goods = {"sgtins": _held(batch, sender, flow["count"])}
    shipment = shipment_create(sender=sender, receiver=receiver, **goods)
    if flow["receive"]:
        shipment_receive(receiver=receiver, shipment=shipment)
        if "ssccs" in goods:  # the receiver breaks the case open to pick single packs
            case_unpack(holder=receiver, sscc=goods["ssccs"][0])


def demo_samples() -> dict:
    """Sample packs for outside tools: `seed_demo --json` prints these."""
    pharmacy_packs = (
        Pack.objects.filter(custodian__role=Organisation.Role.PHARMACY, shipment__isnull=True)
        .select_related("batch", "custodian")
        .order_by("pk")
    )

    def describe(pack: Pack) -> dict:
        holder = pack.custodian.members.select_related("user").first()
        return {
            "gtin": pack.gtin,
            "serial": pack.serial,
            "lot": pack.batch.lot,
            "expiry": pack.batch.expires_on.isoformat(),
            "holder": holder.user.username if holder else None,
        }

    return {
        "authentic": [describe(p) for p in pharmacy_packs.filter(status="active")[:SAMPLES]],
        "dispensed": [describe(p) for p in pharmacy_packs.filter(status="supplied")[:SAMPLES]],
        "recalled": [describe(p) for p in pharmacy_packs.filter(status="recalled")[:SAMPLES]],
    }
