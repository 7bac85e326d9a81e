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
    path("review/queue", apis.ReviewQueueApi.as_view(), name="review-queue"),
    path("review/jobs/<uuid:job_id>/decide", apis.ReviewJobDecideApi.as_view(), name="review-job"),
]
