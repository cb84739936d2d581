"""Provides the per-user settings (who I am, my NCBI email and key, my key bindings), kept outside reviews."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_path

from reviewkit.errors import ReviewkitError
from reviewkit.wording import noun

CONFIG_ENV = "REVIEWKIT_CONFIG"
_KNOWN = {"reviewer", "ncbi_email", "ncbi_api_key", "keys"}


@dataclass(frozen=True)
class UserConfig:
    """What belongs to the person, not to the review.

    Read from `config.toml` in the platform's config folder (on Linux `$XDG_CONFIG_HOME/reviewkit/`,
    usually `~/.config/reviewkit/config.toml`), or the file named by `REVIEWKIT_CONFIG`.
    """

    #: The reviewer name used when --reviewer is not given.
    reviewer: str | None = None
    #: NCBI asks every E-utilities user for a contact email.
    ncbi_email: str | None = None
    #: An NCBI API key raises the rate limit from 3 to 10 requests per second.
    ncbi_api_key: str | None = None
    #: Key bindings: action name → key (e.g. include = "y").
    keys: dict[str, str] = field(default_factory=dict)
    #: The file these settings were read from (None: none was), to name it when one is refused.
    path: Path | None = None


def config_path() -> Path:
    """Where the user config lives."""
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else user_config_path("reviewkit") / "config.toml"


def given_reviewer(name: str | None) -> str | None:
    """A reviewer name from --reviewer or the user config without the spaces around it: " alice" (a quoted
    option, a config line) was refused as an unknown reviewer, though review.toml names alice. A name of
    spaces only is kept as given, so that it is still refused, naming what was given."""
    if name is None:
        return None
    return name.strip() or name


def load_user_config(path: Path | None = None) -> UserConfig:
    """Read the user config; a missing file is an empty config, a bad one a clear error."""
    named = path is None and bool(os.environ.get(CONFIG_ENV))
    path = path or config_path()
    try:
        if not path.exists():
            if named:
                # A file asked for by name is meant to be read: reading none would act as nobody, unsaid.
                raise ReviewkitError("no such file", where=str(path),
                                     hint=f"{CONFIG_ENV} names it: create the file, or unset {CONFIG_ENV}")
            return UserConfig(ncbi_api_key=os.environ.get("NCBI_API_KEY"))
        # utf-8-sig: a BOM (Notepad's "UTF-8 with BOM") is dropped, as review.toml's is
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        # A folder where the file goes, or no permission: the TUI's screening screen caught only
        # ReviewkitError, so this was a full-screen traceback there.
        raise ReviewkitError(f"cannot read the user config: {exc.strerror or exc}", where=str(path)) from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReviewkitError(f"not valid TOML: {exc}", where=str(path)) from None
    unknown = set(data) - _KNOWN
    if unknown:
        raise ReviewkitError(
            f"unknown {noun(len(unknown), 'setting')} {', '.join(sorted(unknown))}",
            where=str(path), hint=f"known settings: {', '.join(sorted(_KNOWN))}",
        )
    for name in ("reviewer", "ncbi_email", "ncbi_api_key"):
        if name in data and not isinstance(data[name], str):
            raise ReviewkitError(f"'{name}' must be a string", where=str(path))
    if "reviewer" in data and not data["reviewer"].strip():
        # Read as "no reviewer", the CLI then said to set reviewer in the user config, which was set.
        raise ReviewkitError("'reviewer' is empty", where=str(path),
                             hint='give your name as review.toml lists it, or remove the line')
    return UserConfig(
        reviewer=given_reviewer(data.get("reviewer")),
        ncbi_email=data.get("ncbi_email"),
        ncbi_api_key=data.get("ncbi_api_key") or os.environ.get("NCBI_API_KEY"),
        keys=_keys(data.get("keys", {}), path),
        path=path,
    )


def _keys(keys: object, path: Path) -> dict[str, str]:
    """[keys] as action → "key,key": a list of keys (next = ["j", "down"]) is read as the same keys
    written "j,down"; anything else is refused naming the action, which the error did not say."""
    if not isinstance(keys, dict):
        raise ReviewkitError('[keys] must be a table of action = "key" lines', where=str(path))
    found: dict[str, str] = {}
    for action, value in keys.items():
        if isinstance(value, list) and all(isinstance(k, str) for k in value):
            value = ",".join(value)
        if not isinstance(value, str):
            raise ReviewkitError(f"[keys] {action} must be a key or a list of keys, as in "
                                 f'{action} = "y" or {action} = ["j", "down"]', where=str(path))
        found[action] = value
    return found
