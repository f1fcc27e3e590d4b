"""`reconciler show PLAN_FILE`: a saved plan rendered for review, never planned
again, and an edited or corrupt file refused."""

from __future__ import annotations

import json

import pytest

from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three


@pytest.fixture
def saved(three, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    three.assets["welcome"]["description"] = "New greeting"
    three.assets.pop("goodbye")
    three.write()
    outputs = {}
    for fmt in ("text", "json", "markdown"):
        code, out, err = three.cli("plan", "--format", fmt, "--out", str(three.plan_file))
        assert code == 0, out + err
        outputs[fmt] = out
    return three, outputs


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_renders_exactly_what_plan_printed(saved, run_cli, fmt):
    p, outputs = saved
    before = p.snapshot()
    code, out, err = run_cli("show", str(p.plan_file), "--format", fmt)
    assert code == 0, err
    expected = outputs[fmt]
    if fmt == "text":  # plan adds the "Saved the plan" line after the plan itself
        expected = expected.split("\nSaved the plan to")[0]
    assert out == expected
    assert p.snapshot() == before  # nothing written, not even the lockfile


def test_show_does_not_plan_again(saved, run_cli):
    """The world moved since (the remote folder is gone): show still renders the saved plan."""
    p, outputs = saved
    for f in p.remote.iterdir():
        f.unlink()
    p.config.write_text("this is not toml [")
    code, out, err = run_cli("show", str(p.plan_file))
    assert code == 0, err
    assert "~ ivr.welcome" in out and "- ivr.goodbye" in out


def test_show_refuses_an_edited_plan(saved, run_cli):
    p, _ = saved
    data = json.loads(p.plan_file.read_text())
    data["changes"][0]["reason"] = "sneaky"
    p.plan_file.write_text(json.dumps(data))
    code, out, err = run_cli("show", str(p.plan_file))
    assert code == 1 and out == ""
    assert err.startswith("Error: ") and "was modified after it was written (checksum mismatch)" in err
    assert "apply" not in err.split("\n")[0]  # `show` applies nothing: the message says what is wrong, not a verb


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "is not a reconciler plan file"),
    ('{"changes": [], "format_version": 1}', "has no checksum"),
    ("", "is not a reconciler plan file"),
])
def test_show_refuses_a_corrupt_or_foreign_file(tmp_path, run_cli, body, message):
    f = tmp_path / "plan.json"
    f.write_text(body)
    code, out, err = run_cli("show", str(f))
    assert code == 1 and message in err and "Traceback" not in err


def test_show_missing_file(tmp_path, run_cli):
    code, _, err = run_cli("show", str(tmp_path / "nope.json"))
    assert code == 1 and "does not exist" in err
