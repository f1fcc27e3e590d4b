"""The plusofon provider in the contract suite, with its documented error bodies.

The emulator answers a create as the seed documents it (`{"success": true}`,
no id), so the suite exercises finding the new media by listing."""

from __future__ import annotations

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from tests.conftest import make_wav
from tests.emulators.plusofon import PlusofonEmulator
from tests.providers.targets import ContractTarget

TARGET = ContractTarget(
    type_name="plusofon",
    make_emulator=PlusofonEmulator,
    token_env="PLUSOFON_TOKEN",
    make_audio=lambda seed: make_wav(seed=seed),
    console_upload=lambda emulator, name, data: emulator.console_upload(name, data),
    set_page_size=lambda emulator, n: emulator.set_page_size(n),
    documented_errors=[
        # seed: the account named by token + Client does not exist — an auth error, never retried
        (500, {"message": "User not found", "code": 500}, AuthError, "User not found"),
        (500, {"message": "User not found.", "code": 500}, AuthError, "PLUSOFON_TOKEN"),
        # seed: a bad media id
        (400, {"message": "The media id must be int.", "code": 400}, BadRequestError,
         "The media id must be int."),
        # PROVIDERS.md [3p]: a 200 carrying success: false is an error, not a success
        (200, {"success": False, "message": "Сервис временно недоступен"}, BadRequestError,
         "Сервис временно недоступен (success: false)"),
        (200, {"message": "User not found", "code": 500}, AuthError, "User not found"),
        # Laravel's own answers in the same shape
        (401, {"message": "Unauthenticated."}, AuthError, "Unauthenticated."),
        (404, {"message": "Media not found.", "code": 404}, NotFoundError, "Media not found."),
        (422, {"message": "The name field is required.", "errors": {"name": ["The name field is required."]}},
         BadRequestError, "name: The name field is required."),
        (429, {"message": "Too Many Attempts.", "code": 429}, RateLimitError, "Too Many Attempts."),
        (503, {"message": "Server Error", "code": 503}, ServerError, "Server Error"),
    ],
    is_create=lambda m, p: m == "POST" and p == "/api/v1/media",
    is_list=lambda m, p: m == "GET" and p == "/api/v1/media",
)
