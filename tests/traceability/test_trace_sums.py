"""Property: whatever happens to a batch, the trace accounts for every unit once.

Random flows of ships, receipts, returns, dispenses, destructions, thefts,
a recall and the holders' answers, on a serialized and a lot-level batch;
after every step the holders' numbers plus `unaccounted` are the batch
quantity, none is negative, and `unaccounted` is exactly the stolen packs.
"""

import contextlib
import random
from datetime import date

import pytest

from tests.traceability.conftest import registered
from traceability import rebuild
from traceability.commissioning import CustodyRefused, batch_commission
from traceability.models import Holding, Organisation, Pack, Recall, Shipment
from traceability.pack_states import pack_report_stolen
from traceability.recalls import recall_issue, recall_quarantine
from traceability.shipping import packs_decommission, shipment_create, shipment_receive
from traceability.trace import batch_trace

pytestmark = pytest.mark.django_db
STEPS = 30


class Flow:
    def __init__(self, rng, batch, lot, manufacturer, others):
        self.rng, self.batch, self.lot = rng, batch, lot
        self.manufacturer, self.orgs = manufacturer, [manufacturer, *others]

    def step(self, n):
        actions = ["ship"] * 4 + ["receive"] * 4 + ["returned", "dispense", "destroy", "steal"]
        if n > STEPS // 2:  # a recall stops most moves: let the goods spread first
            actions += ["recall", "quarantine", "returned"]
        action = self.rng.choice(actions)
        with contextlib.suppress(CustodyRefused):  # a refused move changes nothing
            getattr(self, action)()

    def _packs(self, org):
        packs = self.batch.packs.filter(
            custodian=org, shipment=None, status__in=[Pack.Status.ACTIVE, Pack.Status.RECALLED]
        ).order_by("pk")
        return [(p.gtin, p.serial) for p in packs[: self.rng.randint(1, 3)]]

    def _on_hand(self, org):
        holding = Holding.objects.filter(batch=self.lot, holder=org).first()
        return holding.on_hand if holding else 0

    def _goods(self, org):
        goods = {"sgtins": self._packs(org)}
        if self._on_hand(org):
            count = self.rng.randint(1, min(8, self._on_hand(org)))
            goods["lots"] = {(self.lot.product.gtin, self.lot.lot): count}
        return goods

    def ship(self):
        stocked = [o for o in self.orgs if self._packs(o) or self._on_hand(o)]
        sender = self.rng.choice(stocked or self.orgs)
        receiver = self.rng.choice([o for o in self.orgs if o != sender])
        shipment_create(sender=sender, receiver=receiver, **self._goods(sender))

    def receive(self):
        waiting = Shipment.objects.filter(status=Shipment.Status.IN_TRANSIT).order_by("?").first()
        if waiting:
            shipment_receive(receiver=waiting.receiver, shipment=waiting)

    def returned(self):
        org = self.rng.choice(self.orgs[1:])
        packs = self.batch.packs.filter(custodian=org, shipment=None, case=None).exclude(
            received_from=None
        )
        pack = packs.filter(status__in=[Pack.Status.ACTIVE, Pack.Status.RECALLED]).first()
        if pack:
            shipment_create(
                sender=org, receiver=pack.received_from, sgtins=[(pack.gtin, pack.serial)],
                returning=True,
            )  # fmt: skip

    def dispense(self):
        pharmacy = self.orgs[-1]
        packs_decommission(holder=pharmacy, status=Pack.Status.SUPPLIED, **self._goods(pharmacy))

    def destroy(self):
        org = self.rng.choice(self.orgs)
        packs_decommission(holder=org, status=Pack.Status.DESTROYED, **self._goods(org))

    def steal(self):
        org = self.rng.choice(self.orgs)
        for gtin, serial in self._packs(org)[:1]:
            pack_report_stolen(holder=org, gtin=gtin, serial=serial)

    def recall(self):
        recall_issue(
            issuer=self.manufacturer, batches=[self.batch, self.lot], recall_class="II",
            reason="Label misprint", instructions="Quarantine and return.",
        )  # fmt: skip

    def quarantine(self):
        recall = Recall.objects.first()
        if recall:
            recall_quarantine(holder=self.rng.choice(self.orgs), recall=recall)


def check(batch):
    trace = batch_trace(batch)
    assert all(n >= 0 for h in trace.holders for n in h.counts.values()), trace.holders
    assert sum(h.total for h in trace.holders) + trace.unaccounted == batch.quantity
    stolen = batch.packs.filter(status=Pack.Status.STOLEN).count() if batch.serialized else 0
    assert trace.unaccounted == stolen


@pytest.mark.parametrize("seed", range(4))
def test_the_trace_always_adds_up_to_the_batch_quantity(seed, batch, regulator, manufacturer):
    rng = random.Random(seed)
    batch = batch_commission(
        manufacturer=manufacturer, product=batch.product, lot="SER", quantity=40,
        manufactured_on=date(2026, 1, 1), expires_on=date(2028, 1, 1),
    )  # fmt: skip
    lot = batch_commission(
        manufacturer=manufacturer, product=batch.product, lot="BULK", quantity=50,
        manufactured_on=date(2026, 1, 1), expires_on=date(2028, 1, 1), serialized=False,
    )  # fmt: skip
    role = Organisation.Role
    others = [
        registered(role.DISTRIBUTOR, regulator, name="Distributor A"),
        registered(role.DISTRIBUTOR, regulator, name="Distributor B"),
        registered(role.PHARMACY, regulator, name="Pharmacy C"),
    ]
    flow = Flow(rng, batch, lot, manufacturer, others)
    for n in range(STEPS):
        flow.step(n)
        check(batch)
        check(lot)
    assert rebuild.differences() == []
