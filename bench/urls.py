"""The real URL map plus /bench/trivial, a plain Django view (no DRF, no auth): the server's ceiling."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as real_patterns


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"ok": true}', content_type="application/json")


urlpatterns = [path("bench/trivial", trivial), *real_patterns]
