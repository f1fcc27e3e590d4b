"""`plan` and `drift` append their Markdown to $GITHUB_STEP_SUMMARY (GitHub
Actions' job summary) when it is set, unless --no-step-summary."""

from __future__ import annotations

import json

from tests.conftest import make_wav
from tests.e2e import gitops_env

project = gitops_env.project
three = gitops_env.three

EARLIER = "## an earlier step's summary\n"


def run(p, summary, command: str, *args: str):
    """(code, stdout, stderr) with $GITHUB_STEP_SUMMARY pointing at `summary`."""
    return p._run(*command.split(), "-c", str(p.config), *args, env={"GITHUB_STEP_SUMMARY": str(summary)})


def test_plan_appends_its_markdown_after_what_was_there(project, tmp_path):
    project.add("welcome", seed=1, description="Main greeting")
    project.write()
    summary = tmp_path / "summary.md"
    summary.write_text(EARLIER)
    code, text_out, _ = run(project, summary, "plan", "--detailed-exitcode")
    assert code == 2
    assert "Plan: 1 to add" in text_out
    assert not text_out.lstrip().startswith("###")  # stdout keeps the asked-for format
    _, markdown, _ = project.cli("plan", "--format", "markdown")
    assert summary.read_text() == EARLIER + markdown
    # a second step appends again: the file is never truncated
    run(project, summary, "plan")
    assert summary.read_text() == EARLIER + markdown + markdown


def test_plan_json_on_stdout_markdown_in_the_summary(project, tmp_path):
    project.add("welcome", seed=1)
    project.write()
    summary = tmp_path / "summary.md"
    code, out, _ = run(project, summary, "plan", "--json", "--out", str(tmp_path / "plan.json"))
    assert code == 0
    assert json.loads(out)["summary"]["create"] == 1  # stdout is pure JSON
    assert summary.read_text().startswith("### reconciler plan")
    assert "<code>+ ivr.welcome</code> will be created" in summary.read_text()


def test_no_step_summary_writes_nothing(project, tmp_path):
    project.add("welcome", seed=1)
    project.write()
    summary = tmp_path / "summary.md"
    code, _, _ = run(project, summary, "plan", "--no-step-summary")
    assert code == 0 and not summary.exists()
    code, _, _ = run(project, summary, "drift", "--no-step-summary")
    assert code == 0 and not summary.exists()


def test_unset_or_empty_variable_writes_nothing(project, tmp_path):
    project.add("welcome", seed=1)
    project.write()
    def files() -> set[str]:  # but the local cache folder, which any plan may fill
        return {p.name for p in tmp_path.rglob("*") if ".reconciler" not in p.parts}

    before = files()
    code, _, err = project._run("plan", "-c", str(project.config), env={"GITHUB_STEP_SUMMARY": ""})
    assert code == 0 and "Warning" not in err
    assert files() == before


def test_drift_appends_its_markdown_and_keeps_exit_2(three, tmp_path):
    (three.remote / "welcome.wav").unlink()
    (three.remote / "stray.wav").write_bytes(make_wav(0.05, seed=70))
    summary = tmp_path / "summary.md"
    code, out, _ = run(three, summary, "drift")
    assert code == 2
    assert out.startswith("Objects have changed outside of reconciler")
    _, markdown, _ = three.cli("drift", "--format", "markdown")
    assert summary.read_text() == markdown
    assert "| `ivr.welcome` | deleted |" in summary.read_text()


def test_clean_drift_is_summarised_too(three, tmp_path):
    summary = tmp_path / "summary.md"
    code, _, _ = run(three, summary, "drift", "--format", "markdown")
    assert code == 0
    assert summary.read_text().startswith("### reconciler drift")


def test_an_unwritable_summary_is_a_warning_not_a_failure(project, tmp_path):
    project.add("welcome", seed=1)
    project.write()
    folder = tmp_path / "is-a-directory"
    folder.mkdir()
    code, out, err = run(project, folder, "plan", "--detailed-exitcode")
    assert code == 2  # the plan's own exit code is untouched
    assert "Plan: 1 to add" in out
    assert f"Warning: could not write the job summary to {folder}" in err


def test_a_failed_plan_writes_no_summary(project, tmp_path):
    project.config.write_text("[providers.ivr\n")
    summary = tmp_path / "summary.md"
    code, _, err = run(project, summary, "plan")
    assert code == 1 and err.startswith("Error: ")
    assert not summary.exists()
