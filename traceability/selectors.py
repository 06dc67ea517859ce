"""Reads that depend on who asks. Every scoped query starts here."""

from django.db.models import Q, QuerySet

from traceability.models import BatchEvent, EpcisEvent, Organisation, StatementRecord


def organisation_of(user) -> Organisation | None:
    member = getattr(user, "member", None) if user.is_authenticated else None
    return member.organisation if member else None


def handled_batch_ids(org: Organisation) -> QuerySet:
    """Batches the organisation held, shipped or received (a subquery)."""
    return BatchEvent.objects.filter(organisation=org).values("batch")


def statements_visible_to(org: Organisation) -> QuerySet[StatementRecord]:
    """Ledger statements the organisation may read, newest first: regulators
    all; others their own statements and the entries about batches they handled."""
    records = StatementRecord.objects.select_related("organisation").order_by("-entry")
    if org.role == Organisation.Role.REGULATOR:
        return records
    about_handled = BatchEvent.objects.filter(batch__in=handled_batch_ids(org)).values("entry")
    return records.filter(Q(organisation=org) | Q(entry__in=about_handled))


def entry_visible_to(user, index: int) -> bool:
    """LEDGER_ENTRY_ACCESS: may `user` read ledger entry `index`?"""
    org = organisation_of(user)
    if org is None:
        return False
    if org.role == Organisation.Role.REGULATOR:
        return True
    return statements_visible_to(org).filter(entry=index).exists()


def epcis_events_visible_to(org: Organisation) -> QuerySet[EpcisEvent]:
    """EPCIS events the organisation may query: regulators all; others the custody
    events about batches they handled and the observations they captured."""
    events = EpcisEvent.objects.all()
    if org.role == Organisation.Role.REGULATOR:
        return events
    about_handled = BatchEvent.objects.filter(batch__in=handled_batch_ids(org)).values("entry")
    return events.filter(Q(captured_by=org) | Q(entry__in=about_handled))
