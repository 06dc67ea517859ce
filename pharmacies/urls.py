from django.urls import path

from pharmacies import views

app_name = "pharmacies"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("packs/action/", views.pack_action, name="pack-action"),
    path("report/", views.suspect_report, name="report"),
]
