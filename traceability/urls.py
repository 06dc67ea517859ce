from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import api as accounts_api
from accounts import views as accounts_views
from manufacturers import api as manufacturers_api
from traceability import api as traceability_api
from traceability import scan_api, trace_api, verify_api, views
from traceability.web import patient
from traceability.web import urls as web_urls  # registers the gtin converter used below

# The API comes first: Django tries patterns in order, and a scan at the counter
# should not wait for every page's pattern to be tried before its own.
urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/reference/", accounts_api.docs, name="api-reference"),
    path("api/v1/", accounts_api.ApiRoot.as_view(), name="api-root"),
    path("api/v1/statements", traceability_api.StatementBatchView.as_view(), name="api-statements"),
    # verification (issue 5)
    path("api/v1/verify", verify_api.VerifyView.as_view(), name="api-verify"),
    # recall trace (issue 6)
    path(
        "api/v1/batches/<gtin:gtin>/<path:lot>/trace",
        trace_api.BatchTraceView.as_view(),
        name="api-batch-trace",
    ),
    # Barcodes and labels
    path("api/v1/scan", scan_api.ScanView.as_view(), name="api-scan"),
    path("api/v1/scan/image", scan_api.ScanImageView.as_view(), name="api-scan-image"),
    path(
        "api/v1/batches/<str:gtin>/<path:lot>/labels.pdf",
        manufacturers_api.BatchLabelsView.as_view(),
        name="api-batch-labels",
    ),
    path(
        "api/v1/cases/labels.pdf",
        manufacturers_api.CaseLabelsView.as_view(),
        name="api-case-labels",
    ),
    path("", views.home, name="home"),
    path("accounts/login/", accounts_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("ledger/", include("ledger.urls")),
    path("", include(web_urls)),
    path("pharmacy/", include("pharmacies.urls")),
    # patient page at the GS1 Digital Link path (issue 5)
    path("01/<str:gtin>/21/<str:serial>", patient.pack_page, name="pack-link"),
    path("01/<str:gtin>/10/<str:lot>/21/<str:serial>", patient.pack_page, name="pack-link-lot"),
    # EPCIS 2.0 (issue 7)
    path("epcis/", include("traceability.epcis.urls")),
    path("admin/", admin.site.urls),
]
