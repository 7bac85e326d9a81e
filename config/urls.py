"""URL map: the versioned API under /v1/, docs, health probes and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health

urlpatterns = [
    path("healthz", health.HealthzApi.as_view(), name="healthz"),
    path("readyz", health.ReadyzApi.as_view(), name="readyz"),
    path("v1/", include("accounts.urls")),
    path("v1/", include("generation.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "accounts.errors.handler400"
handler403 = "accounts.errors.handler403"
handler404 = "accounts.errors.handler404"
handler500 = "accounts.errors.handler500"
