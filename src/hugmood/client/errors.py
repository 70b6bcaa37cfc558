"""The client's error tree: every failure a CLI user or SDK caller can act on."""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error the SDK raises on purpose; `str()` is a sentence for a person."""


class VaultError(ClientError):
    """The vault could not be opened or read."""


class VaultMissing(VaultError):
    """No vault at that path yet (log in first, which creates it)."""


class VaultExists(VaultError):
    """A vault is already there; it is never overwritten."""


class WrongPassphrase(VaultError):
    """The passphrase does not unlock this vault."""


class VaultTampered(VaultError):
    """Stored ciphertext failed authentication: the file was altered or damaged."""


class InvalidInput(ClientError):
    """Something the user typed or imported is malformed; `field` names it when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotLoggedIn(ClientError):
    """This device has no session: run `hugmood login`."""


class Offline(ClientError):
    """The server could not be reached; local work is kept and syncs later."""


class ApiError(ClientError):
    """The server refused a request; `code` is its `extensions.code`."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extensions: dict[str, object] | None = None,
    ) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.field = field
        self.extensions = extensions or {}


class SecondStepNeeded(ApiError):
    """The password was right; the sign-in needs a code (or setting an authenticator app up,
    when `methods` is `["ENROL_TOTP"]`). `mfa_token` is good for five minutes."""

    @property
    def mfa_token(self) -> str:
        return str(self.extensions.get("mfaToken", ""))

    @property
    def methods(self) -> list[str]:
        found = self.extensions.get("methods")
        return [str(m) for m in found] if isinstance(found, list) else []
