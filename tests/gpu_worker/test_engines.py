"""The engine interface: options defined once (API and engine agree), no torch on the web side, engines by setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generation.serializers import JobCreateIn
from gpu_worker import engines
from gpu_worker.engine import errors
from gpu_worker.engine.options import OPTION_SPECS, RenderOptions


def test_the_option_definitions_load_without_torch() -> None:
    code = (
        "import sys; import gpu_worker.engine, gpu_worker.engine.options, gpu_worker.engines; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _edges(spec):  # type: ignore[no-untyped-def]
    """A value just inside and just outside each end of the option's range (or choices)."""
    if spec.choices:
        return [spec.choices[0]], ["sideways"]
    if spec.kind is str:
        return ["x" * spec.max_length], ["x" * (spec.max_length + 1)]
    step = 1 if spec.kind is int else 0.01
    return [spec.minimum, spec.maximum], [spec.minimum - step, spec.maximum + step]


@pytest.mark.parametrize("spec", OPTION_SPECS, ids=lambda s: s.name)
def test_the_api_and_the_engine_accept_and_refuse_the_same_values(spec) -> None:  # type: ignore[no-untyped-def]
    inside, outside = _edges(spec)
    for value in inside + outside:
        api = JobCreateIn(data={"consent_id": "00000000-0000-0000-0000-000000000001", "photo_upload_id":
                                "00000000-0000-0000-0000-000000000002", "audio_upload_id":
                                "00000000-0000-0000-0000-000000000003", spec.name: value})  # fmt: skip
        api_ok = api.is_valid()
        try:
            RenderOptions.from_api({spec.name: value}).validate()
            engine_ok = True
        except errors.EngineError:
            engine_ok = False
        assert api_ok == engine_ok == (value in inside), (spec.name, value, api.errors)


def test_the_service_asks_sizes_in_whole_macroblocks_where_the_engine_rounds() -> None:
    api = JobCreateIn(data={"consent_id": "00000000-0000-0000-0000-000000000001", "photo_upload_id":
                            "00000000-0000-0000-0000-000000000002", "audio_upload_id":
                            "00000000-0000-0000-0000-000000000003", "size": 500})  # fmt: skip
    assert not api.is_valid() and "multiple of 16" in str(api.errors["size"])
    RenderOptions(size=500).validate()


def test_the_api_defaults_are_the_engines() -> None:
    api = JobCreateIn(data={"consent_id": "00000000-0000-0000-0000-000000000001", "photo_upload_id":
                            "00000000-0000-0000-0000-000000000002", "audio_upload_id":
                            "00000000-0000-0000-0000-000000000003"})  # fmt: skip
    assert api.is_valid(), api.errors
    assert RenderOptions.from_api(api.options()) == RenderOptions()
    assert RenderOptions().as_api() == api.options()


def test_a_setting_that_names_no_engine_is_refused_with_its_reason() -> None:
    with pytest.raises(errors.EngineError, match=r"no engine at 'gpu_worker\.nothing:here'"):
        engines.load_engine("gpu_worker.nothing:here")
    with pytest.raises(errors.EngineError, match="does not give an engine"):
        engines.load_engine("gpu_worker.engine.options:RenderOptions")


def test_the_default_engine_has_a_name_and_the_engine_packages_version() -> None:
    from gpu_worker import engine as warp

    loaded = engines.load_engine(engines.DEFAULT_ENGINE)
    assert isinstance(loaded, engines.TalkingHeadEngine)
    assert (loaded.name, loaded.version) == (warp.NAME, warp.VERSION) == ("talkgate-warp", warp.VERSION)
    assert loaded is engines.load_engine(engines.DEFAULT_ENGINE), "one engine per process"
