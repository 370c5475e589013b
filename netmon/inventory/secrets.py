"""Secret references: `{env: NAME}` or `{file: PATH}`. Values are read here and kept in
`Secret`, whose repr and str are masked, so no log line or error can carry one."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from netmon.errors import SecretError
from netmon.model import Secret

log = logging.getLogger(__name__)


def _warn_if_readable_by_others(path: Path) -> None:
    """As ssh does with a private key: a secret others can read is no longer only ours."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # the read below reports it
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "secret file %s is readable by %s (mode %04o); run: chmod 600 %s",
            path,
            "group and others"
            if mode & stat.S_IRGRP and mode & stat.S_IROTH
            else ("group" if mode & stat.S_IRGRP else "others"),
            stat.S_IMODE(mode),
            path,
        )


def resolve(env: str | None, file: str | None, base: Path) -> Secret:
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"environment variable {env} is not set")
        if not value:
            raise SecretError(f"environment variable {env} is empty")
        return Secret(f"env:{env}", value)
    if file is not None:
        try:
            given = Path(file).expanduser()  # "~/..." names a file in the user's home
        except RuntimeError:  # "~name/..." of a user this machine does not have
            raise SecretError(f"cannot find the home folder in {file!r}") from None
        path = given if given.is_absolute() else base / given
        _warn_if_readable_by_others(path)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            # Never show the bytes: they are the secret, or part of it.
            raise SecretError(f"secret file {path} is not UTF-8 text") from None
        if not value:
            raise SecretError(f"secret file {path} is empty")
        return Secret(f"file:{path}", value)
    raise SecretError("a secret reference needs 'env' or 'file'")
