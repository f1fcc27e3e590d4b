"""The JSON plan: the Plan model as data, with a versioned schema
(`schemas/plan.schema.json`). Reads only the Plan.

The plan holds names, descriptions, hashes, sizes and audio facts — never
audio bytes, base64 payloads or credentials, because the Plan model has no
field that could carry them.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan import Plan

# the keys a reader meets first; the rest follow in model order
LEADING = ("format_version", "summary")


def plan_document(plan: Plan) -> dict[str, Any]:
    data = plan.model_dump(mode="json")
    return {**{k: data[k] for k in LEADING}, **{k: v for k, v in data.items() if k not in LEADING}}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_json(plan: Plan) -> str:
    return dumps(plan_document(plan))
