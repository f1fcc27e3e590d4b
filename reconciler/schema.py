"""JSON Schemas generated from the pydantic models: `reconciler schema`.

- `config.schema.json`: reconciler.toml. Provider tables are the union of
  every registered provider's settings model, discriminated by `type`, so the
  schema follows the registry as providers are added.
- `lockfile.schema.json`: reconciler.lock.
- `plan.schema.json`: `plan --format json` and `plan --out` files.

The committed `schemas/` must equal what this writes; a test checks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, create_model

from reconciler.atomic import atomic_write
from reconciler.config import Settings
from reconciler.errors import ReconcilerError
from reconciler.inputs import MAX_CONFIG_BYTES, InputError, read_file, write_failure
from reconciler.library import Library
from reconciler.lockfile import Lockfile
from reconciler.providers import PROVIDERS
from reconciler.saved_plan import SavedPlan

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_DIR = "schemas"


def config_model() -> type[BaseModel]:
    """The top level of reconciler.toml with typed provider tables."""
    models = tuple(PROVIDERS[name].settings_model for name in sorted(PROVIDERS))
    if len(models) == 1:
        return _config_model(models[0])
    try:
        return _config_model(Annotated[Union[models], Field(discriminator="type")])  # noqa: UP007
    except PydanticUserError:  # a settings model whose `type` is not a Literal: a plain union
        return _config_model(Union[models])  # noqa: UP007


def _config_model(table: Any) -> type[BaseModel]:
    return create_model(
        "ReconcilerConfig",
        __config__=ConfigDict(extra="forbid", title="reconciler.toml"),
        __doc__="reconciler.toml: which audio belongs on which provider account.",
        settings=(Settings, Field(default_factory=Settings)),
        library=(
            Library,
            Field(
                default_factory=Library,
                description="Prompts declared once, carried by the instances whose `use` selects "
                "them: `[library.<key>]` tables and `[[library.glob]]` (key = file stem).",
            ),
        ),
        providers=(
            dict[str, table],
            Field(
                default_factory=dict,
                description="One table per provider instance (an account), keyed by instance name; "
                "`type` selects the provider's settings.",
                json_schema_extra={"propertyNames": {"pattern": "^[a-z0-9_-]+$"}},
            ),
        ),
    )


def _with_header(schema: dict[str, Any], title: str, file_id: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": file_id, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def schemas() -> dict[str, dict[str, Any]]:
    """file name -> schema."""
    return {
        "config.schema.json": _with_header(
            config_model().model_json_schema(), "reconciler.toml", "config.schema.json"
        ),
        "lockfile.schema.json": _with_header(
            Lockfile.model_json_schema(), "reconciler.lock", "lockfile.schema.json"
        ),
        "plan.schema.json": _with_header(
            SavedPlan.model_json_schema(mode="serialization"), "reconciler plan (JSON)", "plan.schema.json"
        ),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path) -> list[Path]:
    written = []
    path = out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, schema in schemas().items():
            path = out_dir / name
            atomic_write(path, render(schema).encode("utf-8"))
            written.append(path)
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write the schemas to {out_dir}: {write_failure(exc, path)}",
            hint="Pass --out-dir a writable folder.",
        ) from None
    return written


def outdated(out_dir: Path) -> list[str]:
    """The schema files in `out_dir` that are missing or differ from the models."""
    stale = []
    for name, schema in schemas().items():
        path = out_dir / name
        try:
            current = read_file(path, limit=MAX_CONFIG_BYTES)
        except InputError:  # missing, a folder, a FIFO...: not an up-to-date schema
            current = None
        if current != render(schema).encode("utf-8"):
            stale.append(str(path))
    return stale
