"""URL map: the versioned API under /v1/, docs, health probes and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health, metrics
from console.views import AdminLoginView
from moderation.apis import revoke_page
from verifier.apis import verify_page, verify_result_page

urlpatterns = [
    path("healthz", health.HealthzApi.as_view(), name="healthz"),
    path("readyz", health.ReadyzApi.as_view(), name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("v1/", include("accounts.urls")),
    path("v1/", include("generation.urls")),
    path("v1/", include("webhooks.urls")),
    path("v1/", include("moderation.urls")),
    path("v1/", include("verifier.urls")),
    path("verify", verify_page, name="verify-page"),
    path("verify/results/<slug:ticket>", verify_result_page, name="verify-result-page"),
    path("revoke/<str:token>", revoke_page, name="revoke"),
    path("capture/", include("moderation.capture_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("console/", include("console.urls")),
] + (
    # The admin's own login would bypass the console's lock and audit: it is replaced by one that has both.
    [path("admin/login/", AdminLoginView.as_view(), name="admin-login"), path("admin/", admin.site.urls)]
    if settings.TALKGATE_ADMIN_ENABLED
    else []
)

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
