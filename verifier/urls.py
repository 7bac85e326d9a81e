from django.urls import path

from verifier import apis

urlpatterns = [
    path("verify", apis.VerifyApi.as_view(), name="verify-api"),
    path("verify/results/<slug:ticket>", apis.VerifyResultApi.as_view(), name="verify-result-api"),
]
