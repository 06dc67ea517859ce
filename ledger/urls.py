from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("checkpoint", views.checkpoint, name="checkpoint"),
    path("pubkey", views.pubkey, name="pubkey"),
    path("proof/inclusion", views.inclusion_proof, name="inclusion-proof"),
    path("proof/consistency", views.consistency_proof, name="consistency-proof"),
    path("entries/<int:index>", views.entry, name="entry"),
]
