"""E-mail every organisation concerned by a recall (Django's e-mail backend)."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse
from django.utils import timezone

from traceability.models import Recall, RecallNotice
from traceability.recalls import concerned_organisations


def _message(recall: Recall) -> tuple[str, str]:
    lots = ", ".join(f"lot {b.lot} of {b.product.name}" for b in recall.batches.all())
    subject = f"Class {recall.recall_class} recall: {lots}"
    link = settings.SITE_URL + reverse("custody:recall", args=[recall.public_id])
    body = (
        f"{recall.issuer.name} has recalled {lots}.\n\n"
        f"Reason: {recall.reason}\n\nInstructions: {recall.instructions}\n\n"
        "Acknowledge the recall, then quarantine, return or destroy the units you hold:\n"
        f"{link}\n"
    )
    return subject, body


def notify_holders(recall_pk: int) -> int:
    """E-mail the members of every concerned organisation not e-mailed yet;
    the number of organisations notified."""
    recall = Recall.objects.select_related("issuer").get(pk=recall_pk)
    subject, body = _message(recall)
    done = set(
        RecallNotice.objects.filter(recall_public_id=recall.public_id).values_list(
            "organisation", flat=True
        )
    )
    messages, notices = [], []
    for org in concerned_organisations(recall).exclude(pk__in=done).order_by("pk"):
        addresses = [email for email in org.members.values_list("user__email", flat=True) if email]
        if addresses:
            messages.append((subject, body, settings.DEFAULT_FROM_EMAIL, addresses))
        notices.append(
            RecallNotice(
                recall_public_id=recall.public_id,
                organisation=org,
                recipients=len(addresses),
                sent_at=timezone.now(),
            )
        )
    send_mass_mail(messages, fail_silently=False)
    RecallNotice.objects.bulk_create(notices, ignore_conflicts=True)
    return len(notices)
