"""The console in a real browser: Playwright driving Debian's Chromium against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from moderation.models import ConsentStatus
from tests.conftest import tiny_mp4
from tests.console.conftest import ARTIFACTS, REVIEWER_PASSWORD, ReviewMaterial, chromium_or_skip

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one unless told
    # that the caller is synchronous (it is: the loop only drives the browser).
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any, rita: User) -> Iterator[Any]:
    """A fresh browser context, signed in as Rita through the login form."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/console/")
    assert "/console/login" in page.url
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    yield page
    context.close()


def _shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_reviewer_approves_a_consent_from_the_queue(page: Any, material: ReviewMaterial) -> None:
    page.reload()  # the queue was first drawn at sign-in, before this test's material existed
    page.get_by_role("link", name="Review consent").click()
    page.wait_for_url(f"**/console/consents/{material.consent.id}")
    # The evidence video really loads in the page (the reviewer-only stream serves a playable MP4).
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    assert page.eval_on_selector("video", "v => v.duration") > 0.5
    _shot(page, "consent-review")
    # An empty comment never leaves the browser (the field is required); the server refuses it too (client tests).
    page.get_by_role("button", name="Approve").click()
    assert page.eval_on_selector("textarea[name=comment]", "t => t.matches(':invalid')")
    assert page.url.endswith(f"/console/consents/{material.consent.id}")
    page.fill("textarea[name=comment]", "Face matches, both phrases spoken.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/console/")
    assert "approved" in page.locator(".messages").inner_text()
    _shot(page, "queue-after-approval")
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.VERIFIED


def test_reviewer_finds_a_jobs_trail(page: Any, material: ReviewMaterial) -> None:
    from accounts import audit

    audit.record("job.created", target=material.job, partner_id=material.job.partner_id, actor="key:alice")
    audit.record("job.needs_review", target=material.job, partner_id=material.job.partner_id, actor="system")
    page.get_by_role("link", name="Job trail").click()
    page.fill("input[name=job]", str(material.job.id))
    page.get_by_role("button", name="Find trail").click()
    trail = page.locator("ol.trail").inner_text()
    assert trail.index("job.created") < trail.index("job.needs_review")
    _shot(page, "job-trail")


def test_reviewer_verifies_a_file(page: Any, tmp_path: Path) -> None:
    suspect = tmp_path / "suspect.mp4"
    suspect.write_bytes(tiny_mp4(1.0))
    page.get_by_role("link", name="Verify a file").click()
    page.set_input_files("input[name=file]", str(suspect))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector(".verdict")
    verdict = page.locator(".verdict").inner_text()
    assert "No C2PA manifest" in verdict
    assert "No Talkgate job matches this file." in verdict
    _shot(page, "verify-file")


def test_reviewer_searches_the_audit_log_and_verifies_the_chain(page: Any) -> None:
    page.get_by_role("link", name="Audit").click()
    page.fill("input[name=event_type]", "console.")
    page.get_by_role("button", name="Search").click()
    assert "console.login" in page.locator("table.audit").inner_text()
    _shot(page, "audit-search")
    page.get_by_role("button", name="Verify chain").click()
    assert "Chain intact" in page.locator(".result").inner_text()


def test_reviewer_sees_the_usage_chart(page: Any, material: ReviewMaterial) -> None:
    page.get_by_role("link", name="Usage").click()
    chart = page.locator("svg.chart")
    # The job in review counts as "other" today: one bar, with its day and outcome as a tooltip.
    assert chart.locator("rect").count() == 1
    assert "1 other" in chart.locator("rect title").text_content()
    _shot(page, "usage")
