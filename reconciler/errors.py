"""The project's exceptions: one root, caught in one place by the CLI.

    ReconcilerError
    ├── ConfigError            bad reconciler.toml or a bad local audio file
    ├── LockfileError          corrupt lockfile, or held by another apply
    ├── PlanError
    │   ├── ConflictError      a remote name is taken by content we do not own
    │   └── UnsafePlanError    protect / mass-delete guard / stale saved plan
    └── ProviderError          a provider call failed (carries provider, operation,
        │                      address, status and the provider's own message)
        ├── AuthError
        ├── NotFoundError
        ├── RemoteConflictError
        ├── RateLimitError     (retry_after)
        ├── ServerError
        ├── BadRequestError
        ├── QuotaError         a cap that retrying cannot fix
        └── OutcomeUnknownError  the request was sent, the answer was lost

Every message is written for the person at the terminal: what failed, where,
and the way out. No message ever contains a secret.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """Root of every error the CLI reports as `Error: ...` with exit code 1."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class ConfigError(ReconcilerError):
    """The configuration (or a file it references) is invalid."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        reasons: list[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.reasons = reasons or []
        head = f"{file}: {message}" if file else message
        if self.reasons:
            head += "\n" + "\n".join(f"  - {r}" for r in self.reasons)
        super().__init__(head, hint=hint)


class LockfileError(ReconcilerError):
    """The lockfile cannot be read, or another process holds it."""


class PlanError(ReconcilerError):
    """The plan cannot be made or must not be applied."""


class ConflictError(PlanError):
    """A remote asset we do not own stands where a declared asset would go."""


class UnsafePlanError(PlanError):
    """The plan would do something the configuration forbids."""


class ProviderError(ReconcilerError):
    """A provider call failed. Never carries a credential."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        address: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.address = address
        self.status = status
        self.provider_message = message
        where = f"{provider}: {operation}"
        if address:
            where += f" {address}"
        code = f" (HTTP {status})" if status else ""
        super().__init__(f"{where} failed{code}: {message}", hint=hint)


class AuthError(ProviderError):
    pass


class NotFoundError(ProviderError):
    pass


class RemoteConflictError(ProviderError):
    pass


class BadRequestError(ProviderError):
    pass


class QuotaError(ProviderError):
    pass


class ServerError(ProviderError):
    retryable = True


class RateLimitError(ProviderError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class TransportError(ProviderError):
    """The provider could not be reached or did not answer in time."""

    retryable = True


class SourceChangedError(ProviderError):
    """The file of an upload changed (or went) since it was planned: the
    request was cut short before its body was complete, so nothing was
    stored, and nothing is recorded under the planned digest."""


class OutcomeUnknownError(ProviderError):
    """A non-idempotent request was sent and its answer was lost. `landed`:
    the service did confirm it, only what it made is not known yet (its id, to
    be found by listing) — so it must never be sent again."""

    landed = False
