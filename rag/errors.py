"""Errors. Everything derived from NewsdeskError is meant to be shown to the user as one line."""


class NewsdeskError(Exception):
    """An error whose message is fit to show the user as it is."""

    exit_code = 1


class UserError(NewsdeskError):
    """The caller misused newsdesk: bad argument, bad filter, bad question."""

    exit_code = 2


class SettingsError(UserError):
    """A setting is missing or wrong; the message names the setting or variable to fix."""


class StoreMismatchError(SettingsError):
    """The store was built with another embedding model or chunker version."""


class StoreLockedError(NewsdeskError):
    """Another process is writing to the same store."""


class InputError(NewsdeskError):
    """One input file or record could not be read; the rest of the run goes on."""


class LLMError(NewsdeskError):
    """The configured LLM endpoint failed after retries (down, timeout, bad reply)."""
