from django.urls import path

from provenance import apis

urlpatterns = [path("verify", apis.VerifyApi.as_view(), name="verify-api")]
