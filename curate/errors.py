"""Errors that stop a run before any work, reported as one line with exit code 2."""


class ConfigError(ValueError):
    """A bad recipe, option or command line: the message names the key path or file."""


class InputError(ConfigError):
    """A missing or unusable input path."""
