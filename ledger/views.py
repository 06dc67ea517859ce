"""Read-only HTTP face of the log: checkpoint, verifier key, proofs, entries."""

import base64

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_safe

from ledger import storage
from ledger.models import Entry


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _int_param(request, name: str, default=None) -> int:
    """A non-negative integer parameter; `default` may be a callable, asked only if needed."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        if default is None:
            raise storage.LedgerError(f"{name} is required")
        return default() if callable(default) else default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:  # "²" is a digit to isdigit()
        raise storage.LedgerError(f"{name} must be a non-negative integer, not {raw!r}")
    return int(raw)


ENTRIES_PER_PAGE = 20


@require_safe
def overview(request):
    checkpoint = storage.checkpoint_latest()
    try:
        before = _int_param(request, "before", default=checkpoint.size)
    except storage.LedgerError as exc:
        return _bad_request(str(exc))
    # Keyset paging by index: as fast on the millionth page as on the first.
    recent = (
        Entry.objects.filter(index__lt=before)
        .order_by("-index")
        .values("index", "leaf_hash", "appended_at")[:ENTRIES_PER_PAGE]
    )
    recent = list(recent)
    older = recent[-1]["index"] if recent and recent[-1]["index"] > 0 else None
    newer = before + ENTRIES_PER_PAGE if before < checkpoint.size else None
    return render(
        request,
        "ledger/overview.html",
        {
            "checkpoint": checkpoint,
            "root_b64": _b64(bytes(checkpoint.root)),
            "verifier_key": storage.verifier_key(),
            "recent": [{**e, "leaf_hash": _b64(bytes(e["leaf_hash"]))} for e in recent],
            "older": older,
            "newer": min(newer, checkpoint.size) if newer else None,
        },
    )


def _latest_size() -> int:
    return storage.checkpoint_latest().size


@require_safe
def checkpoint(request):
    return HttpResponse(storage.checkpoint_latest().note, content_type="text/plain; charset=utf-8")


@require_safe
def pubkey(request):
    return HttpResponse(storage.verifier_key() + "\n", content_type="text/plain; charset=utf-8")


@require_safe
def inclusion_proof(request):
    try:
        index = _int_param(request, "index")
        size = _int_param(request, "size", default=_latest_size)
        proof = storage.inclusion_proof(index, size)
    except storage.LedgerError as exc:
        return _bad_request(str(exc))
    return JsonResponse(
        {
            "index": proof.index,
            "size": proof.size,
            "leaf_hash": _b64(proof.leaf_hash),
            "proof": [_b64(p) for p in proof.proof],
            "root": _b64(proof.root),
        }
    )


@require_safe
def consistency_proof(request):
    try:
        size1 = _int_param(request, "from")
        size2 = _int_param(request, "to", default=_latest_size)
        proof = storage.consistency_proof(size1, size2)
    except storage.LedgerError as exc:
        return _bad_request(str(exc))
    return JsonResponse(
        {
            "from": proof.size1,
            "to": proof.size2,
            "from_root": _b64(proof.root1),
            "to_root": _b64(proof.root2),
            "proof": [_b64(p) for p in proof.proof],
        }
    )


@require_safe
def entry(request, index: int):
    if not request.user.is_authenticated:
        return JsonResponse({"error": "authentication required to read entries"}, status=401)
    # The domain decides who reads what (LEDGER_ENTRY_ACCESS); an entry the
    # caller may not read looks exactly like one that does not exist.
    may_read = import_string(settings.LEDGER_ENTRY_ACCESS)
    try:
        found = storage.entry_get(index)
        if not may_read(request.user, index):
            raise storage.LedgerError(f"there is no entry {index}")
    except storage.LedgerError as exc:
        return JsonResponse({"error": str(exc)}, status=404)
    response = HttpResponse(bytes(found.data), content_type="application/octet-stream")
    response["X-Ledger-Leaf-Hash"] = _b64(bytes(found.leaf_hash))
    return response
