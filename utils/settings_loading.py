"""Read an app's settings from the environment, failing in one line a person can act on.

pydantic-settings reports a bad variable as a multi-line ``ValidationError`` naming the
*field* (``max_queue_size``); an operator set the *variable* (``API_MAX_QUEUE_SIZE``).
Both apps build their settings through :func:`load_settings` so that a malformed
variable stops the server before it binds a port, with a line that names it.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

from utils.errors import ConfigurationError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Build ``settings_class()`` from the environment.

    :raise ConfigurationError: one variable is malformed; the message names it (with its
        prefix), the value it had, and what pydantic expected.
    """
    try:
        return settings_class()
    except ValidationError as exc:
        first = exc.errors()[0]
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        field = ".".join(str(part) for part in first["loc"])
        if not field:
            variable = f"{prefix}*"
        elif field.isupper():  # a validation alias is the variable's own name (e.g. PORT)
            variable = _alias_in_environment(settings_class, field)
        else:
            variable = f"{prefix}{field}".upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(
            f"{variable}={first.get('input')!r} is not valid: {message}"
        ) from None


def _alias_in_environment(settings_class: type[BaseSettings], reported: str) -> str:
    """The alias the operator really set: pydantic reports the first of AliasChoices."""
    for info in settings_class.model_fields.values():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and reported in alias.choices:
            names = [c for c in alias.choices if isinstance(c, str)]
            set_names = [n for n in names if n in os.environ or n.lower() in os.environ]
            return set_names[0] if set_names else reported
    return reported
