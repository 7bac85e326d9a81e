from django.urls import path

from webhooks import apis

urlpatterns = [
    path("webhooks", apis.WebhookListApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:endpoint_id>", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<uuid:endpoint_id>/rotate-secret", apis.WebhookRotateApi.as_view(), name="webhook-rotate"),
    path("webhooks/<uuid:endpoint_id>/deliveries", apis.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
]
