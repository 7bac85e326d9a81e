"""The subject's capture page, mounted at /capture/ (its token is a secret: the audit log redacts it)."""

from django.urls import path

from moderation import capture_pages

urlpatterns = [
    path("<str:token>", capture_pages.capture_page, name="capture"),
    path("<str:token>/decline", capture_pages.capture_decline, name="capture-decline"),
    path("<str:token>/start", capture_pages.capture_start, name="capture-start"),
    path("<str:token>/chunks/<int:seq>", capture_pages.capture_chunk, name="capture-chunk"),
    path("<str:token>/finish", capture_pages.capture_finish, name="capture-finish"),
]
