"""Cases and pallets: packing packs into a case (or cases onto a pallet) by
SSCC, and unpacking them. Shipping or receiving a case moves what it holds."""

import secrets
from collections.abc import Sequence

from biip.checksums import gs1_standard_check_digit
from django.db import transaction
from django.utils import timezone

from traceability import epcis_shapes
from traceability.commissioning import CustodyRefused
from traceability.keys import custodial_sign
from traceability.models import Case, Organisation
from traceability.shipping import EPCS_PER_STATEMENT, custody_append

MAX_CASE_CONTENTS = 10_000


def sscc_new(org: Organisation) -> str:
    """A fresh SSCC for `org`: extension digit 0, the company prefix taken as
    the first seven digits of its GLN, a random serial reference, check digit."""
    while True:
        body = "0" + org.gln[:7] + "".join(secrets.choice("0123456789") for _ in range(9))
        sscc = body + str(gs1_standard_check_digit(body))
        if not Case.objects.filter(sscc=sscc).exists():
            return sscc


def _aggregate(org, kind: str, sscc: str, sgtins, ssccs) -> None:
    action, biz_step, disposition = {
        "pack": ("ADD", "packing", "container_closed"),
        "unpack": ("DELETE", "unpacking", "in_progress"),
    }[kind]
    children = [epcis_shapes.sscc_uri(s) for s in ssccs]
    children += [epcis_shapes.sgtin_uri(gtin, serial) for gtin, serial in sgtins]
    if not children:
        raise CustodyRefused(f"name at least one pack or case to {kind}")
    if len(children) > MAX_CASE_CONTENTS:
        raise CustodyRefused(f"at most {MAX_CASE_CONTENTS:,} packs or cases at once")
    if len(set(children)) != len(children):
        raise CustodyRefused("a pack or case is named twice")
    now = timezone.now()
    signed = [
        custodial_sign(
            organisation=org,
            kind=kind,
            body=epcis_shapes.aggregation_event(
                action=action,
                biz_step=biz_step,
                disposition=disposition,
                parent=epcis_shapes.sscc_uri(sscc),
                children=children[start : start + EPCS_PER_STATEMENT],
                when=now,
            ),
        )
        for start in range(0, len(children), EPCS_PER_STATEMENT)
    ]
    custody_append(org, signed)


@transaction.atomic
def case_pack(
    *,
    holder: Organisation,
    sscc: str,
    sgtins: Sequence[tuple[str, str]] = (),
    ssccs: Sequence[str] = (),
) -> Case:
    """Pack loose packs into case `sscc` (created if new), or cases onto a pallet."""
    _aggregate(holder, "pack", sscc, sgtins, ssccs)
    return Case.objects.get(sscc=sscc)


@transaction.atomic
def case_unpack(
    *,
    holder: Organisation,
    sscc: str,
    sgtins: Sequence[tuple[str, str]] | None = None,
    ssccs: Sequence[str] | None = None,
) -> Case:
    """Take the named packs and cases out of case `sscc`; with none named, everything."""
    case = Case.objects.filter(sscc=sscc).first()
    if case is None:
        raise CustodyRefused(f"case {sscc} is unknown")
    if sgtins is None and ssccs is None:
        sgtins = list(case.packs.order_by("pk").values_list("gtin", "serial"))
        ssccs = list(case.cases.order_by("pk").values_list("sscc", flat=True))
        if not sgtins and not ssccs:
            raise CustodyRefused(f"case {sscc} is empty: there is nothing to unpack")
    _aggregate(holder, "unpack", sscc, sgtins or (), ssccs or ())
    return Case.objects.get(sscc=sscc)
