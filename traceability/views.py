from django.shortcuts import render

from ledger import storage


def home(request):
    return render(request, "home.html", {"checkpoint": storage.checkpoint_latest()})
