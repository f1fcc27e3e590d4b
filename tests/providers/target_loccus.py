"""loccus in the provider contract suite."""

from __future__ import annotations

import re

from reconciler.errors import (
    AuthError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    RemoteConflictError,
    ServerError,
)
from tests.conftest import make_wav
from tests.emulators.loccus import LoccusEmulator, error_body
from tests.providers.targets import ContractTarget

AUDIOS = re.compile(r"^/spaces/[^/]+/[^/]+/audios$")


def handle_for(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


TARGET = ContractTarget(
    type_name="loccus",
    make_emulator=LoccusEmulator,
    token_env="LOCCUS_API_KEY",
    make_audio=lambda seed: make_wav(0.3, rate=8000, seed=seed),
    console_upload=lambda em, name, data: em.console_upload(name, data),
    set_page_size=lambda em, n: em.set_page_size(n),
    documented_errors=[
        (400, error_body(400, "page-size must be between 1 and 50"), BadRequestError, "page-size must be between 1 and 50"),
        (401, error_body(401, "Invalid or missing API key"), AuthError, "Invalid or missing API key"),
        (403, error_body(403, "You do not have access to this space"), AuthError, "no access to space 'acme/ivr-prompts'"),
        (404, error_body(404, "Space 'acme/ivr-prompts' not found"), NotFoundError, "Check `owner` and `space`"),
        (409, error_body(409, "An audio with handle 'x' already exists"), RemoteConflictError, "already exists"),
        (429, error_body(429, "Too many requests"), RateLimitError, "Too many requests"),
        (500, error_body(500, "Internal server error"), ServerError, "Internal server error"),
    ],
    settings={"owner": "acme", "space": "ivr-prompts", "state_poll_interval": 0.01},
    is_create=lambda m, p: m == "POST" and bool(AUDIOS.match(p)),
    is_list=lambda m, p: m == "GET" and bool(AUDIOS.match(p)),
    name_for=handle_for,
    download_is_exact=False,
)
