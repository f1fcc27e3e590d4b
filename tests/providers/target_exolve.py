"""The Exolve Media API in the provider contract suite."""

from __future__ import annotations

from reconciler.errors import AuthError, BadRequestError, NotFoundError, RemoteConflictError
from tests.conftest import make_wav
from tests.emulators.exolve import ExolveEmulator
from tests.providers.targets import ContractTarget


def _set_page_cap(emulator: ExolveEmulator, n: int) -> None:
    emulator.page_cap = n


TARGET = ContractTarget(
    type_name="exolve",
    make_emulator=ExolveEmulator,
    token_env="EXOLVE_API_KEY",
    make_audio=lambda seed: make_wav(seed=seed),
    console_upload=lambda emulator, name, data: emulator.console_upload(name, data),
    set_page_size=_set_page_cap,
    # the seed's error tables, body {"error": "..."}
    documented_errors=[
        (401, {"error": "malformed token"}, AuthError, "malformed token"),
        (403, {"error": "invalid token"}, AuthError, "invalid token"),
        (400, {"error": "failed to parse token"}, AuthError, "failed to parse token"),
        (400, {"error": "error Save media service: fileName is exist"}, RemoteConflictError, "fileName is exist"),
        (400, {"error": "invalid value for enum type: \"FILE_TYPE_X\""}, BadRequestError, "invalid value for enum type"),
        (400, {"error": "unexpected token"}, BadRequestError, "unexpected token"),
        (400, {"error": "invalid UploadRequest.File: value length must be at least 1 bytes"}, BadRequestError,
         "value length must be at least 1 bytes"),
        (400, {"error": "invalid UploadRequest.FullName: value length must be between 1 and 128 runes, inclusive"},
         BadRequestError, "between 1 and 128 runes"),
        (400, {"error": "invalid value for string type: 5"}, BadRequestError, "invalid value for string type"),
        (400, {"error": "proto: syntax error (line 3:9): invalid character '\\r' in string"}, BadRequestError,
         "proto: syntax error"),
        (400, {"error": "invalid UpdateRequest.Name: value length must be at most 128 runes"}, BadRequestError,
         "at most 128 runes"),
        (400, {"error": "invalid UpdateRequest.Description: value length must be at most 512 runes"},
         BadRequestError, "at most 512 runes"),
        (500, {"error": "Application [4711] does not own resource [661352]"}, NotFoundError,
         "does not own resource [661352]"),
        (404, {"error": "Not Found"}, BadRequestError, "base_url"),
    ],
    asset_settings={"file_type": "ivr"},
    is_create=lambda method, path: method == "POST" and path == "/media/v1/Upload",
    is_list=lambda method, path: method == "POST" and path == "/media/v1/GetList",
)
