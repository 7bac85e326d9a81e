"""Shared plumbing that every app may use and that uses no app.

Errors, the request context, API helpers, storage, media input checks, task enqueueing, HTTP helpers.
"""
