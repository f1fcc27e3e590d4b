"""The soniox provider in the contract suite, with its documented error bodies."""

from __future__ import annotations

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    ServerError,
)
from tests.conftest import make_wav
from tests.emulators.soniox import MESSAGES, SonioxEmulator, error_body
from tests.providers.targets import ContractTarget


def _page_size(emulator: SonioxEmulator, n: int) -> None:
    emulator.page_size = n


SEED_REQUEST_ID = "3d37a3bd-5078-47ee-a369-b204e3bbedda"


def _seed(status: int, error_type: str, message: str, validation_errors=None) -> dict:
    """An error body exactly as the seed document prints it."""
    return {**error_body(status, error_type, message, validation_errors), "request_id": SEED_REQUEST_ID}


TARGET = ContractTarget(
    type_name="soniox",
    make_emulator=SonioxEmulator,
    token_env="SONIOX_API_KEY",
    make_audio=lambda seed: make_wav(seed=seed),
    console_upload=lambda emulator, name, data: emulator.console_upload(name, data),
    set_page_size=_page_size,
    documented_errors=[
        (400, _seed(400, "invalid_request", MESSAGES["invalid_request"],
                    [{"error_type": "missing", "location": "file.file", "message": "Field required"}]),
         BadRequestError, "file.file: Field required"),
        (401, _seed(401, "unauthenticated", MESSAGES["unauthenticated"]),
         AuthError, "Incorrect API key provided"),
        (429, _seed(429, "limit_exceeded", MESSAGES["file_count"]),
         QuotaError, "Total file count limit has been exceeded"),
        (429, _seed(429, "limit_exceeded", MESSAGES["file_size"]),
         QuotaError, "total file size cap"),
        (429, _seed(429, "limit_exceeded", MESSAGES["rate"]),
         RateLimitError, "Requests per minute limit"),
        (500, _seed(500, "internal_error", MESSAGES["internal_error"]),
         ServerError, f"request_id {SEED_REQUEST_ID}"),
        (404, _seed(404, "file_not_found", MESSAGES["file_not_found"]),
         NotFoundError, "No file with this ID exists"),
        (400, _seed(400, "invalid_cursor", MESSAGES["invalid_cursor"]),
         BadRequestError, "Invalid cursor parameter"),
    ],
    is_create=lambda m, p: m == "POST" and p == "/v1/files",
    is_list=lambda m, p: m == "GET" and p == "/v1/files",
)
