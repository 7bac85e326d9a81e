"""URLs of the reviewer console, mounted under /console/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(next_page="console:login"), name="logout"),
    path("", views.queue, name="queue"),
    path("partners", views.partner_list, name="partners"),
    path("partners/<str:partner_id>", views.partner_detail, name="partner"),
    path("consents/<str:consent_id>", views.consent_detail, name="consent"),
    path("consents/<str:consent_id>/evidence", views.consent_evidence, name="consent-evidence"),
    path("jobs/<str:job_id>", views.job_detail, name="job"),
    path("jobs/<str:job_id>/<str:which>", views.job_input, name="job-input"),
    path("audit", views.audit_log, name="audit"),
    path("audit/export.<str:fmt>", views.audit_export, name="audit-export"),
    path("audit/verify-chain", views.audit_verify_chain, name="audit-verify"),
    path("audit/trail", views.job_trail, name="trail"),
    path("verify", views.verify, name="verify"),
    path("usage", views.usage_page, name="usage"),
    path("protected", views.protected_persons, name="protected"),
    path("protected/<str:person_id>/remove", views.protected_person_remove, name="protected-remove"),
    path("protected/photos/<int:photo_id>", views.protected_photo, name="protected-photo"),
]
