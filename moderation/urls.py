from django.urls import path

from moderation import apis

urlpatterns = [
    path("subjects", apis.SubjectListApi.as_view(), name="subject-list"),
    path("subjects/<uuid:subject_id>", apis.SubjectDetailApi.as_view(), name="subject-detail"),
    path("subjects/<uuid:subject_id>/consents", apis.SubjectConsentCreateApi.as_view(), name="consent-create"),
    path("consents", apis.ConsentListApi.as_view(), name="consent-list"),
    path("consents/<uuid:consent_id>", apis.ConsentDetailApi.as_view(), name="consent-detail"),
    path("consents/<uuid:consent_id>/challenge", apis.ConsentChallengeApi.as_view(), name="consent-challenge"),
    path("consents/<uuid:consent_id>/evidence", apis.ConsentEvidenceApi.as_view(), name="consent-evidence"),
    path(
        "consents/<uuid:consent_id>/capture-sessions",
        apis.ConsentCaptureSessionCreateApi.as_view(),
        name="capture-session-create",
    ),
    path("capture-sessions/<uuid:session_id>", apis.CaptureSessionDetailApi.as_view(), name="capture-session-detail"),
    path("consents/<uuid:consent_id>/revoke", apis.ConsentRevokeApi.as_view(), name="consent-revoke"),
    path("review/consents/<uuid:consent_id>", apis.ReviewConsentDetailApi.as_view(), name="review-consent-detail"),
    path("review/consents/<uuid:consent_id>/decide", apis.ReviewConsentDecideApi.as_view(), name="review-consent"),
    path(
        "review/consents/<uuid:consent_id>/evidence",
        apis.ReviewConsentEvidenceApi.as_view(),
        name="review-consent-evidence",
    ),
    path(
        "review/consents/<uuid:consent_id>/revoke", apis.ReviewConsentRevokeApi.as_view(), name="review-consent-revoke"
    ),
    path("review/protected-persons", apis.ProtectedPersonListApi.as_view(), name="protected-list"),
    path("review/protected-persons/<uuid:person_id>", apis.ProtectedPersonDetailApi.as_view(), name="protected-detail"),
    path("review/blocked-phrases", apis.BlockedPhraseListApi.as_view(), name="phrase-list"),
    path("review/blocked-phrases/<int:phrase_id>", apis.BlockedPhraseDetailApi.as_view(), name="phrase-detail"),
]
