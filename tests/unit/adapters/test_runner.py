"""The source registry bridgeway run uses: kinds register a factory; unknown kinds are named."""

from __future__ import annotations

import threading

import pytest

from adapters.runner import UnknownSource, register_source, source_factory
from tests.fakes import FakeInferenceClient
from tests.support.fake_models import CLASSIFIER, classify


class Recorder:
    def __init__(self, config: object, client: object, stop: threading.Event) -> None:
        self.args = (config, client, stop)

    def run(self) -> None:
        self.ran = True


def test_a_registered_factory_builds_a_runnable_from_config_client_and_stop_event() -> None:
    register_source("test-kind", Recorder)
    client = FakeInferenceClient(classify, [CLASSIFIER])
    stop = threading.Event()
    runnable = source_factory("test-kind")("config", client, stop)
    assert isinstance(runnable, Recorder) and runnable.args == ("config", client, stop)


def test_the_files_kind_is_found_by_importing_its_package() -> None:
    from adapters.files import files_source

    assert source_factory("files") is files_source


def test_an_unknown_kind_is_named_in_the_error() -> None:
    with pytest.raises(UnknownSource, match="no pipeline source of kind 'ftp'"):
        source_factory("ftp")
