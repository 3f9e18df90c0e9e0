"""Who may open the page: the login pair from `--auth` or `RAG_UI_AUTH`, and a warning for exposed addresses."""

from __future__ import annotations

from rag.errors import SettingsError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`USER:PASSWORD` as a pair (None when unset). Raises SettingsError when either part is missing."""
    if value is None or value == "":
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise SettingsError("--auth (or RAG_UI_AUTH) must be USER:PASSWORD, both non-empty")
    return user.strip(), password


def bind_warning(host: str, auth: tuple[str, str] | None) -> str | None:
    """The warning to print when the page would be reachable from other machines without a login."""
    if host in LOCAL_HOSTS or auth is not None:
        return None
    return (
        f"warning: serving on {host} without a login: anyone who can reach this machine can read and change "
        "your documents; add --auth USER:PASSWORD (or set RAG_UI_AUTH)"
    )
