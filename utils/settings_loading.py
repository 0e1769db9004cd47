"""Read an app's settings from the environment, failing in one line a person can act on.

pydantic-settings reports a bad variable as a multi-line ``ValidationError`` naming the
*field* (``max_queue_size``); an operator set the *variable* (``API_MAX_QUEUE_SIZE``).
Both apps build their settings through :func:`load_settings` so that a malformed
variable stops the server before it binds a port, with a line that names it.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError
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
            variable = field
        else:
            variable = f"{prefix}{field}".upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(
            f"{variable}={first.get('input')!r} is not valid: {message}"
        ) from None
