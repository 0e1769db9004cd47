"""A malformed environment variable becomes one line that names the variable."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from utils.errors import ConfigurationError
from utils.settings_loading import load_settings


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    max_queue_size: int = 8


def test_a_valid_environment_builds_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_MAX_QUEUE_SIZE", "32")
    assert load_settings(_Settings).max_queue_size == 32


def test_a_malformed_variable_is_named_with_its_prefix_and_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_MAX_QUEUE_SIZE", "lots")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(_Settings)
    assert str(caught.value).startswith("DEMO_MAX_QUEUE_SIZE='lots' is not valid")
    assert "\n" not in str(caught.value)


class _AliasedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    port: int = Field(default=5000, validation_alias=AliasChoices("DEMO_PORT", "PORT"))


def test_the_alias_that_was_set_is_the_one_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_PORT", raising=False)
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(ConfigurationError, match=r"^PORT='http' is not valid"):
        load_settings(_AliasedSettings)
