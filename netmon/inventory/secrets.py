"""Secret references: `{env: NAME}` or `{file: PATH}`. Values are read here and kept in
`Secret`, whose repr and str are masked, so no log line or error can carry one."""

from __future__ import annotations

import os
from pathlib import Path

from netmon.errors import SecretError
from netmon.model import Secret


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
