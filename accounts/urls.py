from django.urls import path

from accounts import apis

urlpatterns = [
    path("partner-applications", apis.PartnerApplicationApi.as_view(), name="partner-apply"),
    path(
        "partner-applications/<uuid:partner_id>/claim",
        apis.PartnerApplicationClaimApi.as_view(),
        name="partner-claim",
    ),
    path("partner", apis.PartnerMeApi.as_view(), name="partner-me"),
    path("keys", apis.ApiKeyListApi.as_view(), name="key-list"),
    path("keys/<uuid:key_id>", apis.ApiKeyDetailApi.as_view(), name="key-detail"),
    path("keys/<uuid:key_id>/revoke", apis.ApiKeyRevokeApi.as_view(), name="key-revoke"),
    path("review/partners", apis.ReviewPartnerListApi.as_view(), name="review-partner-list"),
    path(
        "review/partners/<uuid:partner_id>",
        apis.ReviewPartnerDetailApi.as_view(),
        name="review-partner-detail",
    ),
    path(
        "review/partners/<uuid:partner_id>/approve",
        apis.ReviewPartnerApproveApi.as_view(),
        name="review-partner-approve",
    ),
    path(
        "review/partners/<uuid:partner_id>/reject",
        apis.ReviewPartnerRejectApi.as_view(),
        name="review-partner-reject",
    ),
    path(
        "review/partners/<uuid:partner_id>/suspend",
        apis.ReviewPartnerSuspendApi.as_view(),
        name="review-partner-suspend",
    ),
    path(
        "review/partners/<uuid:partner_id>/reinstate",
        apis.ReviewPartnerReinstateApi.as_view(),
        name="review-partner-reinstate",
    ),
    path(
        "review/partners/<uuid:partner_id>/limits",
        apis.ReviewPartnerLimitsApi.as_view(),
        name="review-partner-limits",
    ),
    path(
        "review/partners/<uuid:partner_id>/consent-policy",
        apis.ReviewPartnerConsentPolicyApi.as_view(),
        name="review-partner-consent-policy",
    ),
    path("review/audit", apis.AuditSearchApi.as_view(), name="audit-search"),
    path("review/audit/export", apis.AuditExportApi.as_view(), name="audit-export"),
    path("review/audit/verify", apis.AuditVerifyApi.as_view(), name="audit-verify"),
]
