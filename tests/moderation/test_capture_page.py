"""The capture page in a real browser: Playwright driving Debian's Chromium with a fake camera and microphone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moderation.models import CaptureChunk, CaptureSession, CaptureStatus, ConsentEvidence, EvidenceSource
from tests.conftest import PartnerActor
from tests.console.conftest import chromium_or_skip
from tests.console.test_browser import CHROMIUM_ARGS
from tests.moderation.test_capture_sessions import open_link, pending_consent, token_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "capture"
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Records what the page showed, as it showed it: the prompt box's kind, each time it changes.
WATCH_PROMPTS = """
window.__kinds = [];
new MutationObserver(() => {
  const k = document.getElementById('prompt').dataset.kind;
  if (k && window.__kinds[window.__kinds.length - 1] !== k) window.__kinds.push(k);
}).observe(document.getElementById('prompt'), {attributes: true, childList: true, subtree: true});
"""


@pytest.fixture(autouse=True)
def _short_windows(settings) -> None:  # type: ignore[no-untyped-def]
    """Short prompt windows, so a whole capture takes five to seven seconds."""
    settings.TALKGATE_CAPTURE_LEAD_S = 1.0
    settings.TALKGATE_CAPTURE_STATEMENT_WINDOW_S = 2.0
    settings.TALKGATE_CAPTURE_MOVE_WINDOW_S = 1.5
    settings.TALKGATE_CONSENT_AUTO_VERIFY = False


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp:
        # Playwright's sync API runs an event loop in this thread; the ORM is called synchronously beside it.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            yield pw


def launch(playwright: Any, extra: list[str]) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=chromium_or_skip(), args=[*CHROMIUM_ARGS, *extra],
                                         headless=True)  # fmt: skip
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def camera_browser(playwright: Any) -> Iterator[Any]:
    """Chromium whose camera and microphone are its built-in fakes, permission granted."""
    yield from launch(playwright, FAKE_MEDIA)


def phone(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844},
                                  device_scale_factor=1, is_mobile=True, has_touch=True)  # fmt: skip
    context.set_default_timeout(20_000)
    return context


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def wait_state(page: Any, states: str, timeout_s: float = 40.0) -> str:
    page.wait_for_function(f"['{states.replace('|', chr(39) + ',' + chr(39))}'].includes("
                           "document.getElementById('recorder').dataset.state)", timeout=timeout_s * 1000)  # fmt: skip
    return page.eval_on_selector("#recorder", "r => r.dataset.state")


def test_a_subject_records_and_every_chunk_and_prompt_is_kept(
    alice: PartnerActor, live_server: Any, camera_browser: Any
) -> None:
    body = open_link(alice, pending_consent(alice))
    context = phone(camera_browser, live_server)
    page = context.new_page()
    page.goto(f"/capture/{token_of(body)}")
    page.evaluate(WATCH_PROMPTS)
    shot(page, "capture-ready")
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_selector("#prompt[data-kind]")
    shot(page, "capture-prompt")
    page.wait_for_timeout(700)  # the page scrolls the prompt and preview into view
    shot(page, "capture-phone", full_page=False)  # what a phone shows while recording (the README's picture)
    assert wait_state(page, "sent") == "sent"
    session = CaptureSession.objects.get(id=body["id"])
    assert session.status == CaptureStatus.SUBMITTED
    assert page.evaluate("window.__kinds") == [p["kind"] for p in session.prompts], "shown in the server's order"
    seqs = list(CaptureChunk.objects.filter(session=session).values_list("seq", flat=True))
    assert seqs == list(range(len(seqs))) and len(seqs) >= 8
    evidence = ConsentEvidence.objects.get(id=session.evidence_id)
    assert evidence.source == EvidenceSource.LIVE and evidence.size_bytes == sum(
        CaptureChunk.objects.filter(session=session).values_list("size", flat=True)
    )
    again = context.new_page()
    again.goto(f"/capture/{token_of(body)}")
    assert "already used" in again.locator("main").inner_text()
    context.close()


@pytest.fixture(scope="module")
def no_permission_browser(playwright: Any) -> Iterator[Any]:
    """Chromium with a fake camera whose permission prompt nobody answers (headless: denied)."""
    yield from launch(playwright, ["--use-fake-device-for-media-stream"])


def test_a_denied_permission_says_what_to_do(alice: PartnerActor, live_server: Any, no_permission_browser: Any) -> None:
    body = open_link(alice, pending_consent(alice))
    context = phone(no_permission_browser, live_server)
    page = context.new_page()
    page.goto(f"/capture/{token_of(body)}")
    page.get_by_role("button", name="Start recording").click()
    assert wait_state(page, "denied|nocamera|failed", timeout_s=15) == "denied"
    assert "access was denied" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Start again").is_enabled()
    shot(page, "capture-permission-denied")
    assert CaptureSession.objects.get(id=body["id"]).status == CaptureStatus.OPEN, "nothing started"
    context.close()


def test_a_dropped_connection_resumes_where_it_stopped(
    alice: PartnerActor, live_server: Any, camera_browser: Any
) -> None:
    body = open_link(alice, pending_consent(alice))
    context = phone(camera_browser, live_server)
    page = context.new_page()
    page.goto(f"/capture/{token_of(body)}")
    page.evaluate("""window.__states = [];
      new MutationObserver(() => window.__states.push(document.getElementById('recorder').dataset.state))
        .observe(document.getElementById('recorder'), {attributes: true});""")
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_selector("#prompt[data-kind]")
    context.set_offline(True)
    page.wait_for_function("document.getElementById('recorder').dataset.state === 'reconnecting'")
    shot(page, "capture-reconnecting")
    time.sleep(2.5)
    context.set_offline(False)
    assert wait_state(page, "sent|failed") == "sent", page.locator("#message").inner_text()
    assert "reconnecting" in page.evaluate("window.__states")
    session = CaptureSession.objects.get(id=body["id"])
    assert session.status == CaptureStatus.SUBMITTED and session.restarts == 0
    seqs = list(CaptureChunk.objects.filter(session=session).values_list("seq", flat=True))
    assert seqs == list(range(len(seqs)))
    context.close()


def write_y4m(video: Path, out: Path) -> Path:
    """A video's frames as Y4M (4:2:0), the format Chromium's fake camera reads (and loops)."""
    import av

    with av.open(str(video)) as c, out.open("wb") as f:
        stream = c.streams.video[0]
        rate = stream.average_rate or 25
        f.write(f"YUV4MPEG2 W{stream.width} H{stream.height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n"
                .encode())  # fmt: skip
        for frame in c.decode(stream):
            f.write(b"FRAME\n" + frame.reformat(format="yuv420p").to_ndarray().tobytes())
    return out


@pytest.fixture(scope="module")
def deepfake_camera(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium whose camera plays the engine's talking video of a photo, and whose microphone plays its speech.

    The speech (espeak-ng) reads a statement and challenge written before any capture session existed: a recording
    prepared in advance, shown to the page as if it were the camera.
    """
    from tests.moderation.verification.conftest import FACES, render_talking

    folder = tmp_path_factory.mktemp("deepfake")
    speech = FACES / "consent_tiger_orange_piano.wav"
    fake = render_talking(FACES / "obama.jpg", speech, folder / "fake.mp4", size=256)
    y4m = write_y4m(fake, folder / "fake.y4m")
    yield from launch(playwright, [*FAKE_MEDIA, f"--use-file-for-fake-video-capture={y4m}",
                                   f"--use-file-for-fake-audio-capture={speech}"])  # fmt: skip


@pytest.mark.slow
def test_a_talking_video_prepared_in_advance_is_rejected_for_its_timing(
    alice: PartnerActor, live_server: Any, deepfake_camera: Any, settings
) -> None:
    from moderation import services
    from moderation.models import ConsentStatus
    from tests.moderation.test_evidence import _consent

    settings.TALKGATE_CAPTURE_LEAD_S = 2.0  # the fake camera's talking video is already speaking by then
    # Even where the policy lets a live capture through without a reviewer.
    settings.TALKGATE_CONSENT_AUTO_VERIFY = True
    alice.partner.consent_auto_verify = True
    alice.partner.save(update_fields=["consent_auto_verify"])
    body = open_link(alice, _consent(alice))
    context = phone(deepfake_camera, live_server)
    page = context.new_page()
    page.goto(f"/capture/{token_of(body)}")
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_selector("#prompt[data-kind=statement]", timeout=30_000)
    shot(page, "capture-deepfake-statement")
    assert wait_state(page, "sent") == "sent"
    session = CaptureSession.objects.get(id=body["id"])
    services.evidence_verify(evidence_id=session.evidence_id)  # what the cpu worker runs
    session.refresh_from_db()
    consent = session.consent
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REJECTED, consent.reason_codes
    assert "timing_failed" in consent.reason_codes and "timing_failed" in session.reason_codes
    assert session.status == CaptureStatus.REJECTED
    context.close()
