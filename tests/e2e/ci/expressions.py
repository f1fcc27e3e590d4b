"""GitHub Actions expressions (`${{ ... }}` and `if:`), enough of the language
to run this repository's workflows and action as GitHub would: literals,
context properties (`steps.run.outputs.plan-path`, `github.event.x`),
`! == != < <= > >= && ||`, parentheses, and the functions the files use.
Semantics follow GitHub's documentation: `&&`/`||` return an operand, loose
equality coerces mismatched types to numbers and compares strings ignoring
case, a missing property is null and null interpolates as ''.
https://docs.github.com/en/actions/learn-github-actions/expressions
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[!<>().\[\],])"
    r"|(?P<id>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")


class ExpressionError(ValueError):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot read expression at {text[pos:]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def to_number(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip() or 0)
        except ValueError:
            return math.nan
    return math.nan


def loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, dict | list):
        return a == b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return to_number(a) == to_number(b)


def truthy(v: Any) -> bool:
    if isinstance(v, float) and math.isnan(v):
        return False
    return v not in (None, False, 0, "")


def as_string(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v)
    return str(v)


def prop(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        for k, v in obj.items():  # property names are case-insensitive
            if k.lower() == key.lower():
                return v
    return None


class Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.tokens = tokenize(text)
        self.i = 0
        self.contexts = contexts
        self.functions = functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value or 'more'}, found {tok}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            left = right if truthy(left) else left
        return left

    def equality(self) -> Any:
        left = self.comparison()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.comparison()
            left = loose_equal(left, right) if op == "==" else not loose_equal(left, right)
        return left

    def comparison(self) -> Any:
        left = self.unary()
        while self.peek() in (("op", "<"), ("op", ">"), ("op", "<="), ("op", ">=")):
            op = self.take()[1]
            a, b = to_number(left), to_number(self.unary())
            left = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while True:
            tok = self.peek()
            if tok == ("op", "."):
                self.take()
                value = prop(value, self.take()[1])
            elif tok == ("op", "["):
                self.take()
                key = self.or_()
                self.take("]")
                value = value[int(to_number(key))] if isinstance(value, list) else prop(value, as_string(key))
            else:
                return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "id":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            self.take()
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            fn = {k.lower(): v for k, v in self.functions.items()}.get(text.lower())
            if fn is None:
                raise ExpressionError(f"unknown function {text}()")
            return fn(*args)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r}")
        return self.contexts[text]


def base_functions(job_ok: Callable[[], bool]) -> dict[str, Callable[..., Any]]:
    return {
        "always": lambda: True,
        "success": job_ok,
        "failure": lambda: not job_ok(),
        "cancelled": lambda: False,
        "contains": lambda a, b: (as_string(b).lower() in as_string(a).lower()) if isinstance(a, str)
        else any(loose_equal(x, b) for x in (a or [])),
        "startsWith": lambda a, b: as_string(a).lower().startswith(as_string(b).lower()),
        "endsWith": lambda a, b: as_string(a).lower().endswith(as_string(b).lower()),
        "format": lambda f, *args: re.sub(r"\{(\d+)\}", lambda m: as_string(args[int(m.group(1))]), f),
        "toJSON": lambda v: json.dumps(v, indent=2),
        "fromJSON": lambda s: json.loads(s),
    }


def evaluate(text: str, contexts: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    return Parser(text, contexts, functions).parse()


def interpolate(value: Any, contexts: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    """`${{ expr }}` inside a string replaced by the expression's value; other
    scalars as the string GitHub would pass (booleans 'true'/'false')."""
    if isinstance(value, bool | int | float):
        return as_string(value)
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: as_string(evaluate(m.group(1), contexts, functions)), value)


def condition(text: Any, contexts: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> bool:
    """A step's `if:`: without a status function it means `success() && (...)`."""
    if text is None or text == "":
        text = "success()"
    if isinstance(text, bool):
        text = "true" if text else "false"
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not re.search(r"\b(" + "|".join(STATUS_FUNCTIONS) + r")\s*\(", text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, contexts, functions))
