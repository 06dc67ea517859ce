from django.shortcuts import redirect, render

from ledger import storage
from traceability.selectors import organisation_of


def home(request):
    if organisation_of(request.user) is not None:
        return redirect("custody:dashboard")
    return render(request, "home.html", {"checkpoint": storage.checkpoint_latest()})
