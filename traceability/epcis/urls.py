from django.urls import path

from traceability.epcis import views
from traceability.web.urls import GtinConverter  # noqa: F401  (registers <gtin:>)

app_name = "epcis"
urlpatterns = [
    path("capture", views.CaptureView.as_view(), name="capture"),
    path("capture/<uuid:capture_id>", views.CaptureJobView.as_view(), name="capture-job"),
    path("events", views.EventsView.as_view(), name="events"),
    path("events/<path:event_id>", views.EventView.as_view(), name="event"),
    path(
        "batches/<gtin:gtin>/<path:lot>/events",
        views.BatchEventsView.as_view(),
        name="batch-events",
    ),
]
