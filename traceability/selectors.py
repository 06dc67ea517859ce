"""Reads that depend on who asks. Every scoped query starts here."""

from traceability.models import BatchEvent, Organisation, StatementRecord


def organisation_of(user) -> Organisation | None:
    member = getattr(user, "member", None) if user.is_authenticated else None
    return member.organisation if member else None


def entry_visible_to(user, index: int) -> bool:
    """Regulators read every entry; others their own statements and the
    entries about batches they handled (held, shipped or received)."""
    org = organisation_of(user)
    if org is None:
        return False
    if org.role == Organisation.Role.REGULATOR:
        return True
    if StatementRecord.objects.filter(entry=index, organisation=org).exists():
        return True
    handled = BatchEvent.objects.filter(organisation=org).values("batch")
    return BatchEvent.objects.filter(entry=index, batch__in=handled).exists()
