from django.urls import path

from generation import apis

urlpatterns = [
    path("generations", apis.GenerationListApi.as_view(), name="generation-list"),
    path("generations/<uuid:job_id>", apis.GenerationDetailApi.as_view(), name="generation-detail"),
    path("generations/<uuid:job_id>/cancel", apis.GenerationCancelApi.as_view(), name="generation-cancel"),
    path("generations/<uuid:job_id>/video", apis.GenerationVideoApi.as_view(), name="generation-video"),
    path("media/videos/<str:token>", apis.SignedVideoApi.as_view(), name="signed-video"),
    path("uploads", apis.UploadApi.as_view(), name="upload"),
    path("usage", apis.UsageApi.as_view(), name="usage"),
    path("webhooks", apis.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:endpoint_id>/rotate-secret", apis.WebhookRotateApi.as_view(), name="webhook-rotate"),
    path("webhooks/<uuid:endpoint_id>/deliveries", apis.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
]
