"""The no-op translation marker for user-facing msgids defined in the domain."""


def N_(s: str) -> str:  # noqa: N802 - the conventional name Babel extracts
    """Mark a string for extraction; the UI translates it at render time."""
    return s
