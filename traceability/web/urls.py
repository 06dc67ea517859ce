from django.urls import path, register_converter

from traceability.web import alerts, batches, custody, dashboard, recalls


class GtinConverter:
    regex = "[0-9]{14}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(GtinConverter, "gtin")

app_name = "custody"
urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("products/new/", custody.product_register, name="product-register"),
    path("batches/new/", custody.batch_commission, name="batch-commission"),
    path("batches/<gtin:gtin>/<path:lot>/", batches.batch_detail, name="batch"),
    path("ship/", custody.ship, name="ship"),
    path("cases/", custody.cases, name="cases"),
    path("cases/<str:sscc>/unpack/", custody.case_unpack, name="case-unpack"),
    path("shipments/<uuid:public_id>/receive/", custody.receive, name="receive"),
    path("shipments/find/", custody.shipment_find, name="shipment-find"),
    path("dispense/", custody.dispense, name="dispense"),
    path("destroy/", custody.destroy, name="destroy"),
    # alerts inbox (issue 5)
    path("alerts/", alerts.inbox, name="alerts"),
    path("alerts/<int:pk>/", alerts.detail, name="alert"),
    path("alerts/<int:pk>/status", alerts.change_status, name="alert-status"),
    path("alerts/<int:pk>/photo", alerts.photo, name="alert-photo"),
]

# recalls (issue 6)
urlpatterns += [
    path("recalls/", recalls.recall_list, name="recalls"),
    path("recalls/new/", recalls.recall_new, name="recall-new"),
    path("recalls/<uuid:public_id>/", recalls.recall_detail, name="recall"),
    path("recalls/<uuid:public_id>/amend", recalls.recall_amend, name="recall-amend"),
    path("recalls/<uuid:public_id>/<str:action>", recalls.recall_answer, name="recall-answer"),
]
