"""Recall screens: issue (regulators, manufacturers), the list, and one recall's
page: progress, the distribution tree and exports for whoever may trace it;
the recall and the answers (acknowledge, quarantine, return, destroy) for the
organisations that hold or held its units."""

from django import forms as django_forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from traceability import recalls
from traceability.models import Organisation, Recall
from traceability.recall_progress import holder_counts, recall_progress
from traceability.trace import traceable_batches
from traceability.web.access import REFUSALS, organisation_required, refusal_message
from traceability.web.paging import paginate

ISSUERS = frozenset({Organisation.Role.REGULATOR, Organisation.Role.MANUFACTURER})
TEXT = django_forms.Textarea(attrs={"rows": 3})
PER_PAGE = 25
TREE_CHILDREN = 30  # receivers shown under one sender; the exports list them all
ANSWERS = {
    "acknowledge": (recalls.recall_acknowledge, "Acknowledged the recall."),
    "quarantine": (recalls.recall_quarantine, "Your stock of the recalled batches is quarantined."),
    "return": (recalls.recall_return, "Return shipments signed: your supplier must receive them."),
    "destroy": (recalls.recall_destroy, "Your stock of the recalled batches is destroyed."),
}


class RecallForm(django_forms.Form):
    batches = django_forms.ModelMultipleChoiceField(queryset=None, help_text="one or more")
    recall_class = django_forms.ChoiceField(label="Class", choices=Recall.Class.choices)
    reason = django_forms.CharField(widget=TEXT, max_length=2000)
    instructions = django_forms.CharField(widget=TEXT, max_length=4000)

    def __init__(self, *args, org: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batches"].queryset = traceable_batches(org).exclude(recalls__isnull=False)


class AmendForm(django_forms.Form):
    recall_class = django_forms.ChoiceField(label="Class", choices=Recall.Class.choices)
    reason = django_forms.CharField(widget=TEXT, max_length=2000)
    instructions = django_forms.CharField(widget=TEXT, max_length=4000)


def _url(recall: Recall) -> str:
    return reverse("custody:recall", args=[recall.public_id])


@organisation_required()
def recall_list(request, org: Organisation):
    shown = recalls.recalls_visible_to(org).prefetch_related("batches__product")
    answered = set(org.recall_responses.values_list("recall", flat=True))
    page = paginate(request, shown, per_page=PER_PAGE)
    for recall in page:
        recall.answered = recall.pk in answered
    context = {"recalls": page, "may_issue": org.role in ISSUERS, "org": org}
    return render(request, "traceability/recalls.html", context)


@organisation_required(ISSUERS)
def recall_new(request, org: Organisation):
    form = RecallForm(request.POST if request.method == "POST" else None, org=org)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            recall = recalls.recall_issue(
                issuer=org,
                batches=list(data["batches"]),
                recall_class=data["recall_class"],
                reason=data["reason"],
                instructions=data["instructions"],
            )
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, "Recall issued and signed; every holder is notified.")
            return redirect(_url(recall))
    status = 400 if form.is_bound else 200
    return render(request, "traceability/recall_form.html", {"form": form}, status=status)


def _visible(org: Organisation, public_id) -> Recall:
    return get_object_or_404(recalls.recalls_visible_to(org), public_id=public_id)


def _sees_progress(org: Organisation, recall: Recall) -> bool:
    traceable = traceable_batches(org).filter(pk__in=recall.batches.values("pk"))
    return traceable.exists()


@organisation_required()
def recall_detail(request, org: Organisation, public_id):
    return _detail(request, org, _visible(org, public_id))


def _detail(request, org: Organisation, recall: Recall, amend_form=None, status=200):
    progress = recall_progress(recall)
    concerned = recalls.is_concerned(org, recall)
    context = {
        "recall": recall,
        "org": org,
        "batches": list(recall.batches.select_related("product")),
        "progress": progress if _sees_progress(org, recall) else None,
        "trees": [(t, tree_rows(t)) for t in progress.traces],
        "concerned": concerned,
        "mine": holder_counts(progress, org) if concerned else None,
        "my_answers": {r.kind for r in progress.answered.get(org.pk, [])},
        "may_amend": recalls.may_amend(org, recall),
        "amend_form": amend_form
        or AmendForm(
            initial={
                "recall_class": recall.recall_class,
                "reason": recall.reason,
                "instructions": recall.instructions,
            }
        ),
    }
    return render(request, "traceability/recall.html", context, status=status)


@require_POST
@organisation_required()
def recall_answer(request, org: Organisation, public_id, action: str):
    recall = _visible(org, public_id)
    if action not in ANSWERS:
        messages.error(request, f"action must be one of {', '.join(ANSWERS)}")
        return redirect(_url(recall))
    service, done = ANSWERS[action]
    try:
        service(holder=org, recall=recall)
    except REFUSALS as refusal:
        messages.error(request, refusal_message(refusal))
    else:
        messages.success(request, done)
    return redirect(_url(recall))


@require_POST
@organisation_required()
def recall_amend(request, org: Organisation, public_id):
    recall = _visible(org, public_id)
    form = AmendForm(request.POST)
    if form.is_valid():
        try:
            recalls.recall_amend(org=org, recall=recall, **form.cleaned_data)
        except REFUSALS as refusal:
            form.add_error(None, refusal_message(refusal))
        else:
            messages.success(request, "Amendment signed; it supersedes the earlier text.")
            return redirect(_url(recall))
    return _detail(request, org, recall, amend_form=form, status=400)


def tree_rows(trace, per_node: int = TREE_CHILDREN) -> list[dict]:
    """The distribution tree as indented rows (depth-first from the manufacturer),
    at most `per_node` receivers under each sender and a row saying how many more."""
    by_sender: dict[int, list] = {}
    for holder in trace.holders:
        if holder.path:
            by_sender.setdefault(holder.path[-1].sender.pk, []).append(holder)
    maker = trace.batch.product.manufacturer_id
    root = next((h for h in trace.holders if h.org.pk == maker), None)
    rows: list[dict] = []

    def visit(holder, depth):
        via = holder.path[-1] if holder.path else None
        rows.append({"depth": depth, "holder": holder, "via": via})
        children = sorted(by_sender.get(holder.org.pk, []), key=lambda h: h.org.name)
        for child in children[:per_node]:
            visit(child, depth + 1)
        if len(children) > per_node:
            rows.append({"depth": depth + 1, "more": len(children) - per_node})

    if root is not None:
        visit(root, 0)
    return rows
