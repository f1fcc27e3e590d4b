"""Plusofon's wire and settings: endpoints, the config models, and the reading
of its Laravel answers (paginator, create answer, error text). Pure; the
client is `providers.plusofon`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from reconciler.providers.http import HttpProviderSettings
from reconciler.providers.settings import AssetSpec

MEDIA = "api/v1/media"
STANDARD_MEDIA = "api/v1/standard-media"
# file_mime_type values the API takes, by the format sniffed from content;
# gsm and raw have no header to recognise, so they are not offered here
MIME_BY_FORMAT = {"mp3": "mp3", "wav": "wav", "au": "au", "aiff": "aiff", "ogg": "ogg"}
MAX_PAGES = 10_000  # a paginator that never ends is a bug, not a big account
STANDARD_PREFIX = "standard:"


class PlusofonAsset(AssetSpec):
    """`[providers.<instance>.assets.<key>]` on a plusofon instance: an audio
    `file`, or `standard_id`, a preinstalled prompt of the account."""

    file: str | None = Field(  # type: ignore[assignment]
        default=None, description="Audio file, relative to the config file (or set `standard_id`)."
    )
    standard_id: str | None = Field(
        default=None,
        description="Id of a preinstalled prompt (GET api/v1/standard-media) to use instead of a file.",
    )

    @field_validator("description")
    @classmethod
    def _no_description(cls, value: str) -> str:
        if value:
            raise PydanticCustomError(
                "plusofon_description",
                "plusofon media have no description field (the API keeps only a name); "
                "remove `description`",
            )
        return value

    @model_validator(mode="after")
    def _file_or_standard(self) -> PlusofonAsset:
        if (self.file is None) == (self.standard_id is None):
            raise PydanticCustomError(
                "plusofon_source",
                "set exactly one of `file` (an audio file) or `standard_id` (a preinstalled prompt)",
            )
        if self.standard_id is not None and not self.standard_id.strip():
            raise PydanticCustomError("plusofon_standard_id", "`standard_id` must not be empty")
        return self

    def content_identity(self) -> str | None:
        return f"{STANDARD_PREFIX}{self.standard_id}" if self.standard_id is not None else None


class PlusofonSettings(HttpProviderSettings):
    """`[providers.<instance>]` with `type = "plusofon"`."""

    type: Literal["plusofon"]
    client: str = Field(
        default="10553",
        description="The `Client` header: the account's client id (10553 in every documented example).",
    )
    assets: dict[str, PlusofonAsset] = Field(default_factory=dict)  # type: ignore[assignment]

    @field_validator("client", mode="before")
    @classmethod
    def _client_as_text(cls, value: Any) -> Any:
        # `client = 10553` in TOML is an integer; the header is text either way
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def page_of(url: Any) -> int | None:
    """The `page` number in a paginator URL (its host is the server's own idea)."""
    if not isinstance(url, str) or not url:
        return None
    try:
        return int_or_none(httpx.URL(url).params.get("page"))
    except (httpx.InvalidURL, ValueError):
        return None


def next_page(body: Mapping[str, Any], page: int) -> int | None:
    """The page after `page` by the paginator's own fields, or None at the end."""
    if not body["data"]:
        return None
    current = int_or_none(body.get("current_page")) or page
    last = int_or_none(body.get("last_page"))
    if "next_page_url" in body:
        if body["next_page_url"] is None:
            return None
        return page_of(body["next_page_url"]) or current + 1
    return current + 1 if last is not None and current < last else None


def returned_id(body: Any) -> str | None:
    """The new media's id in a create answer, where it names one (`id`, `data.id`, `media_id`)."""
    if not isinstance(body, Mapping):
        return None
    for holder in (body, body.get("data"), body.get("media")):
        if isinstance(holder, Mapping):
            for key in ("id", "media_id"):
                value = int_or_none(holder.get(key))
                if value is not None:
                    return str(value)
    return None


def message_of(body: Any) -> str | None:
    """The error text of a Laravel answer, with its validation details (not redacted)."""
    if not isinstance(body, Mapping):
        return None
    message = body.get("message") or body.get("error")
    text = str(message) if message else None
    errors = body.get("errors")  # Laravel validation: {"field": ["reason", ...]}
    if isinstance(errors, Mapping) and errors:
        details = "; ".join(
            f"{field}: {' '.join(map(str, reasons)) if isinstance(reasons, list) else reasons}"
            for field, reasons in errors.items()
        )
        text = f"{text} ({details})" if text else details
    return text or None
