"""The subject's capture page, mounted at /capture/ (its token is a secret: the audit log redacts it)."""

from django.urls import path

from moderation import capture_pages

urlpatterns = [
    path("<str:token>", capture_pages.capture_page, name="capture"),
    path("<str:token>/decline", capture_pages.capture_decline, name="capture-decline"),
]
