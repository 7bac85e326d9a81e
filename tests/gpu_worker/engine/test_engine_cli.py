"""The command line: renders a file, and reports refusals by code with exit status 2."""

from __future__ import annotations

import av

from gpu_worker.engine.__main__ import main


def test_cli_renders_a_full_frame_video_with_the_chosen_controls(fixtures, short_speech, tmp_path, engine):
    out = tmp_path / "cli.mp4"
    argv = [
        str(fixtures / "grace_hopper.jpg"),
        str(short_speech),
        "-o",
        str(out),
        "--size",
        "256",
        "--full-frame",
        "--emotion",
        "happy",
        "--gaze",
        "left",
        "--motion",
        "0.8",
        "--seed",
        "7",
    ]
    assert main(argv) == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (218, 256)  # 512x600 photo, long side 256
        assert c.streams.audio


def test_cli_reports_a_refusal_by_its_code(fixtures, short_speech, tmp_path, capsys, engine):
    status = main([str(fixtures / "coffee.jpg"), str(short_speech), "-o", str(tmp_path / "x.mp4"), "--size", "256"])
    assert status == 2
    assert "error no_face:" in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists()
