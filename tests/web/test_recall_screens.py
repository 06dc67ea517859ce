import pytest
from django.core import mail

from tests.web.helpers import deliver, logged_in, member_of
from traceability import recalls
from traceability.models import Pack, Recall, RecallNotice
from traceability.recalls import recall_issue
from traceability.statement_log import StatementRejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(batch, manufacturer, distributor, pharmacy):
    deliver(batch, manufacturer, distributor, 6)
    deliver(batch, distributor, pharmacy, 4)
    return batch


def issue(org, batch, **changes):
    return recall_issue(
        issuer=org, batches=[batch], recall_class="II", reason="Label misprint",
        instructions="Quarantine and return.", **changes,
    )  # fmt: skip


def test_regulator_issues_a_recall_from_the_form_and_every_holder_is_emailed(
    spread, regulator, as_regulator, distributor, pharmacy, django_capture_on_commit_callbacks
):
    member_of(pharmacy, "corner").__class__.objects.filter(username="corner").update(
        email="corner@pharmacy.example"
    )
    member_of(distributor, "north").__class__.objects.filter(username="north").update(
        email="north@wholesale.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = as_regulator.post(
            "/recalls/new/",
            {"batches": [spread.pk], "recall_class": "I", "reason": "Glass particles",
             "instructions": "Stop supplying. Quarantine."},
        )  # fmt: skip
    recall = Recall.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/recalls/{recall.public_id}/"
    assert set(spread.packs.values_list("status", flat=True)) == {Pack.Status.RECALLED}
    assert sorted(to for m in mail.outbox for to in m.to) == [
        "corner@pharmacy.example", "north@wholesale.example"
    ]  # fmt: skip
    assert mail.outbox[0].subject.startswith("Class I recall: lot A1B2")
    assert f"/recalls/{recall.public_id}/" in mail.outbox[0].body
    assert RecallNotice.objects.count() == 3  # the manufacturer too, which has no e-mail here


def test_a_recall_without_a_reason_is_refused_on_the_form(spread, as_regulator):
    response = as_regulator.post(
        "/recalls/new/", {"batches": [spread.pk], "recall_class": "I", "instructions": "x"}
    )
    assert response.status_code == 400 and b"This field is required" in response.content
    assert not Recall.objects.exists()


def test_a_key_revoked_while_the_recall_was_signed_is_told_plainly(
    spread, as_regulator, monkeypatch
):
    def revoked_meanwhile(batch, **kwargs):
        raise StatementRejected(0, "signer.key k-reg is revoked")

    monkeypatch.setattr(recalls, "statements_append", revoked_meanwhile)
    response = as_regulator.post(
        "/recalls/new/",
        {"batches": [spread.pk], "recall_class": "I", "reason": "Glass", "instructions": "x"},
    )
    page = response.content.decode()
    assert response.status_code == 400 and "signer.key k-reg is revoked" in page
    assert "statement[0]" not in page
    assert not Recall.objects.exists()


def test_distributors_and_pharmacies_may_not_issue_recalls(as_pharmacy, as_distributor):
    assert as_pharmacy.get("/recalls/new/").status_code == 403
    assert as_distributor.post("/recalls/new/", {}).status_code == 403


def test_pharmacy_sees_the_recall_in_its_inbox_and_acknowledges_it(
    spread, manufacturer, pharmacy, as_pharmacy
):
    recall = issue(manufacturer, spread)
    listing = as_pharmacy.get("/recalls/").content.decode()
    assert "Label misprint" in listing and "awaiting you" in listing
    page = as_pharmacy.get(f"/recalls/{recall.public_id}/").content.decode()
    assert "You have not acknowledged this recall yet." in page
    assert 'id="progress"' not in page  # the progress of others is the regulator's business
    response = as_pharmacy.post(f"/recalls/{recall.public_id}/acknowledge")
    assert response.status_code == 302
    assert recall.responses.get().organisation == pharmacy
    response = as_pharmacy.post(f"/recalls/{recall.public_id}/quarantine", follow=True)
    assert b"Your stock of the recalled batches is quarantined." in response.content


def test_regulator_sees_progress_tree_and_who_has_not_answered(
    spread, manufacturer, pharmacy, distributor, as_regulator
):
    recall = issue(manufacturer, spread)
    page = as_regulator.get(f"/recalls/{recall.public_id}/").content.decode()
    assert "<strong>0</strong> of 10 units accounted for" in page
    assert pharmacy.name in page and distributor.name in page
    assert "?format=pdf" in page
    assert 'id="recall-actions"' not in page


def test_a_recall_is_404_for_an_organisation_it_does_not_concern(spread, manufacturer, regulator):
    from tests.traceability.conftest import registered
    from traceability.models import Organisation

    stranger = registered(Organisation.Role.PHARMACY, regulator, name="Elsewhere")
    recall = issue(manufacturer, spread)
    assert logged_in(stranger).get(f"/recalls/{recall.public_id}/").status_code == 404
    assert logged_in(stranger).post(f"/recalls/{recall.public_id}/acknowledge").status_code == 404


def test_the_issuer_amends_a_recall_and_an_empty_amendment_is_refused(
    spread, manufacturer, as_manufacturer
):
    recall = issue(manufacturer, spread)
    url = f"/recalls/{recall.public_id}/amend"
    response = as_manufacturer.post(
        url, {"recall_class": "I", "reason": "Label misprint; wrong strength", "instructions": "x"}
    )
    assert response.status_code == 302
    recall.refresh_from_db()
    assert (recall.recall_class, recall.amended_entry is not None) == ("I", True)
    same = {"recall_class": "I", "reason": recall.reason, "instructions": recall.instructions}
    response = as_manufacturer.post(url, same)
    assert response.status_code == 400 and b"the amendment changes nothing" in response.content
