"""The CI recipe end to end, run locally: the `run:` steps of action.yml and
examples/ci/*.yml are executed as GitHub would run them (tests/e2e/ci/runner.py)
against the `directory` provider, in a scratch git repository with a bare
`origin`, with a `gh` stub that records what would be posted or downloaded
and serves artifacts from a folder.

Pull request -> plan comment (one, updated) + saved-plan artifact -> merge ->
apply.yml applies exactly that plan and commits the lockfile -> drift clean;
and when something moved between review and merge: apply plans afresh, posts
that plan on the merged PR, fails, applies nothing, commits nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import make_wav
from tests.e2e.ci.runner import ROOT, JobResult, Runner, git

CI = ROOT / "examples" / "ci"
PLAN_MARKER = "<!-- reconciler-plan config=reconciler.toml -->"
APPLY_MARKER = "<!-- reconciler-apply config=reconciler.toml -->"
BOT = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
RECONCILER = str(Path(sys.executable).with_name("reconciler"))


class Scratch:
    """A team's prompts repository: `dev` is a developer's clone, `origin` is
    GitHub's copy, `account` is the provider account (a directory)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.origin = tmp / "origin.git"
        self.dev = tmp / "dev"
        self.account = tmp / "account"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], check=True)
        subprocess.run(["git", "clone", "-q", str(self.origin), str(self.dev)], check=True, capture_output=True)
        git(self.dev, "checkout", "-q", "-B", "main")
        git(self.dev, "config", "user.name", "Dev")
        git(self.dev, "config", "user.email", "dev@example.com")
        self.assets: dict[str, dict] = {}
        self.gh = Runner(tmp, self.origin)
        self.gh.action_overrides = {"install": "false"}  # the test's reconciler is on PATH
        self.runs = 100

    def add(self, key: str, seed: int, **fields: str) -> None:
        (self.dev / "audio").mkdir(exist_ok=True)
        (self.dev / "audio" / f"{key}.wav").write_bytes(make_wav(0.05, seed=seed))
        self.assets[key] = {"file": f"audio/{key}.wav", **fields}
        self.write()

    def write(self) -> None:
        lines = ["[providers.ivr]", 'type = "directory"', f"path = {json.dumps(str(self.account))}"]
        for key, fields in self.assets.items():
            lines.append(f"[providers.ivr.assets.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
        (self.dev / "reconciler.toml").write_text("\n".join(lines) + "\n")

    def commit(self, message: str) -> str:
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-q", "-m", message)
        return git(self.dev, "rev-parse", "HEAD")

    def push(self, branch: str) -> None:
        git(self.dev, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")

    def origin_head(self, branch: str = "main") -> str:
        return git(self.origin, "rev-parse", branch)

    def origin_lock(self) -> dict:
        return tomllib.loads(git(self.origin, "show", "main:reconciler.lock"))

    def account_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.account.iterdir())} if self.account.exists() else {}

    # --- events --------------------------------------------------------
    def next_run(self) -> int:
        self.runs += 1
        return self.runs

    def pull_request(self, number: int, branch: str) -> JobResult:
        head = git(self.dev, "rev-parse", branch)
        event = {"pull_request": {"number": number, "head": {"sha": head, "ref": branch}, "base": {"ref": "main"}}}
        return self.gh.run(CI / "plan-comment.yml", event_name="pull_request", event=event, sha=head,
                           ref_name=f"{number}/merge", run_id=self.next_run())

    def merge(self, number: int, branch: str) -> str:
        """Merge on GitHub: a merge commit on main, known to the API as PR `number`'s."""
        head = git(self.dev, "rev-parse", branch)
        git(self.dev, "checkout", "-q", "main")
        git(self.dev, "pull", "-q", "--ff-only", "origin", "main")
        git(self.dev, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number} from {branch}", branch)
        self.push("main")
        sha = git(self.dev, "rev-parse", "HEAD")
        pulls = self.gh.state().get("commit_pulls", {})
        pulls[sha] = [{"number": number, "merged_at": "2026-11-26T12:00:00Z", "head": {"sha": head, "ref": branch}}]
        self.gh.set_state(commit_pulls=pulls)
        return sha

    def push_event(self, sha: str, **inputs: str) -> JobResult:
        return self.gh.run(CI / "apply.yml", event_name="workflow_dispatch" if inputs else "push",
                           event={"inputs": inputs} if inputs else {"head_commit": {"id": sha}},
                           sha=sha, ref_name="main", run_id=self.next_run(), inputs=inputs)

    def drift(self) -> JobResult:
        return self.gh.run(CI / "drift.yml", event_name="schedule", event={"schedule": "17 6 * * *"},
                           sha=self.origin_head(), ref_name="main", run_id=self.next_run())


@pytest.fixture
def repo(tmp_path) -> Scratch:
    """main holds one applied prompt and its lockfile; a PR #7 on `feature`
    adds one prompt and edits the description of the other."""
    s = Scratch(tmp_path)
    s.add("welcome", seed=1, description="Main greeting")
    subprocess.run([RECONCILER, "apply", "--auto-approve"], cwd=s.dev, check=True, capture_output=True)
    s.commit("prompts")
    s.push("main")
    git(s.dev, "checkout", "-q", "-b", "feature")
    s.add("hold", seed=2, description="Hold music")
    s.assets["welcome"]["description"] = "Welcome to Acme"
    s.write()
    s.commit("hold music, new greeting text")
    s.push("feature")
    return s


def ok(result: JobResult) -> JobResult:
    assert result.conclusion == "success", result.log
    return result


def test_pull_request_plan_comment_then_apply_commits_the_lockfile_then_no_drift(repo):
    main_before, account_before = repo.origin_head(), repo.account_files()

    # --- the pull request: one comment with the plan, the saved plan as an artifact
    first = ok(repo.pull_request(7, "feature"))
    (comment,) = repo.gh.comments(7)
    assert comment["body"].startswith(PLAN_MARKER + "\n### reconciler plan")
    assert "**Plan: 1 to add, 1 to change, 0 to replace, 0 to destroy.**" in comment["body"]
    assert "<code>+ ivr.hold</code>" in comment["body"] and "<code>~ ivr.welcome</code>" in comment["body"]
    assert f"artifact `reconciler-plan` of [run {repo.runs}](https://github.com/acme/prompts/actions/runs/{repo.runs})" in comment["body"]
    assert "### reconciler plan" in first.summary  # the job summary, written by the CLI
    (artifact,) = repo.gh.state()["artifacts"]
    assert artifact["name"] == "reconciler-plan" and artifact["retention_days"] == 30
    assert artifact["workflow_run"]["head_sha"] == git(repo.dev, "rev-parse", "feature")
    assert first.outputs.get("run") is None  # nothing leaks: the action's steps are its own
    assert repo.origin_head() == main_before and repo.account_files() == account_before  # plan changed nothing

    # --- a second push to the PR: the same comment is updated, not a second one
    repo.assets["hold"]["description"] = "Hold music, v2"
    repo.write()
    repo.commit("hold: better description")
    repo.push("feature")
    plan_run = repo.runs + 1
    ok(repo.pull_request(7, "feature"))
    (comment,) = repo.gh.comments(7)
    assert "Hold music, v2" in comment["body"]
    posts = [c for c in repo.gh.calls() if c["command"] == "api" and c["method"] in ("POST", "PATCH")]
    assert [(c["method"], c["path"].split("/")[-2]) for c in posts] == [("POST", "7"), ("PATCH", "comments")]
    assert posts[1]["path"].endswith(f"/issues/comments/{comment['id']}")

    # --- the plan job re-run for the same head commit: the newest run's plan wins
    ok(repo.pull_request(7, "feature"))
    plan_run = repo.runs
    assert len(repo.gh.comments(7)) == 1

    # --- merged: apply.yml applies exactly the reviewed plan, commits the lockfile
    merge_sha = repo.merge(7, "feature")
    applied = ok(repo.push_event(merge_sha))
    action = next(s for s in applied.steps if s.name.endswith("/reconciler@v1"))
    assert action.outputs["exit-code"] == "0" and action.outputs["has-changes"] == "true"
    assert action.outputs["pr-number"] == "7" and action.outputs["lockfile-commit"] == repo.origin_head()
    downloads = [c for c in repo.gh.calls() if c["command"] == "run download"]
    assert downloads == [{"command": "run download", "run": str(plan_run), "name": "reconciler-plan"}]
    assert "hold.wav" in repo.account_files()
    lock = repo.origin_lock()["assets"]
    assert lock["ivr.hold"]["description"] == "Hold music, v2"
    assert lock["ivr.welcome"]["description"] == "Welcome to Acme"
    head = repo.origin_head()
    assert git(repo.origin, "log", "-1", "--format=%P", head) == merge_sha  # one commit on top of the merge
    assert git(repo.origin, "log", "-1", "--format=%an <%ae>", head) == BOT
    assert "[skip ci]" in git(repo.origin, "log", "-1", "--format=%B", head)
    assert git(repo.origin, "diff", "--name-only", merge_sha, head) == "reconciler.lock"
    assert "Apply complete: 1 added, 1 changed, 0 replaced, 0 destroyed." in applied.summary
    apply_comment = [c for c in repo.gh.comments(7) if c["body"].startswith(APPLY_MARKER)]
    assert len(apply_comment) == 1 and "Apply complete" in apply_comment[0]["body"]

    # --- the nightly drift check is clean, and opens no issue
    drift = ok(repo.drift())
    assert "No drift" in drift.summary
    assert repo.gh.state().get("issues", []) == []


def test_drift_opens_one_issue_comments_on_it_and_closes_it(repo):
    (repo.account / "welcome.wav").unlink()  # someone deleted a prompt in the web console
    red = repo.drift()
    assert red.conclusion == "failure"
    (issue,) = repo.gh.state()["issues"]
    assert issue["state"] == "open" and issue["labels"] == [{"name": "reconciler-drift"}]
    assert "| `ivr.welcome` | deleted |" in issue["body"]
    assert repo.drift().conclusion == "failure"
    (issue,) = repo.gh.state()["issues"]  # still one issue, with a comment
    assert len(repo.gh.comments(issue["number"])) == 1
    git(repo.dev, "checkout", "-q", "main")  # put the prompt back: apply from main, commit the lockfile
    subprocess.run([RECONCILER, "apply", "--auto-approve"], cwd=repo.dev, check=True, capture_output=True)
    repo.commit("re-apply after the console deletion")
    repo.push("main")
    ok(repo.drift())
    (issue,) = repo.gh.state()["issues"]
    assert issue["state"] == "closed"
    assert "No drift any more" in repo.gh.comments(issue["number"])[-1]["body"]


def move_remote(repo: Scratch) -> str:
    """Someone edits the prompt the plan updates, in the provider's console."""
    (repo.account / "welcome.wav").write_bytes(make_wav(0.05, seed=99))
    return "remote state of ivr.welcome"


def move_base(repo: Scratch) -> str:
    """Another change reaches main before the merge (a new recording of the
    greeting): the merged tree is not the one that was planned."""
    git(repo.dev, "checkout", "-q", "main")
    (repo.dev / "audio" / "welcome.wav").write_bytes(make_wav(0.05, seed=42))
    repo.commit("welcome: new recording")
    repo.push("main")
    return "audio file audio/welcome.wav changed"


@pytest.mark.parametrize("move", [move_remote, move_base], ids=["remote-edited", "base-moved"])
def test_a_stale_plan_is_not_applied_a_fresh_one_is_posted_and_the_job_fails(repo, move):
    ok(repo.pull_request(7, "feature"))
    kind = move(repo)
    merge_sha = repo.merge(7, "feature")
    account_before, lock_before = repo.account_files(), repo.origin_lock()

    refused = repo.push_event(merge_sha)
    assert refused.conclusion == "failure"
    action = next(s for s in refused.steps if s.name.endswith("/reconciler@v1"))
    assert action.outputs["exit-code"] == "1" and action.outputs["has-changes"] == "false"
    assert action.outputs["plan-path"].endswith("fresh-plan.json")
    assert repo.origin_head() == merge_sha  # nothing committed
    assert repo.origin_lock() == lock_before  # lockfile unchanged
    assert repo.account_files() == account_before  # nothing applied
    (apply_comment,) = [c for c in repo.gh.comments(7) if c["body"].startswith(APPLY_MARKER)]
    body = apply_comment["body"]
    assert "the reviewed plan was NOT applied" in body and "is stale" in body
    assert f"{kind}" in body  # the staleness reason names what moved
    assert "### reconciler plan" in body  # the fresh plan, for review
    assert "<code>+ ivr.hold</code>" in body
    assert body == PLAN_MARKER.replace("plan", "apply", 1) + "\n" + body.split("\n", 1)[1]
    assert "NOT applied" in refused.summary
    fresh = [a for a in repo.gh.state()["artifacts"] if a["workflow_run"]["id"] == repo.runs]
    assert len(fresh) == 1, "the fresh plan is kept as the failed run's artifact"

    # the way out: once the fresh plan is reviewed, apply exactly it
    rerun = ok(repo.push_event(merge_sha, **{"plan-run": str(repo.runs)}))
    assert "hold.wav" in repo.account_files()
    assert git(repo.origin, "log", "-1", "--format=%an <%ae>", "main") == BOT
    assert repo.origin_lock()["assets"]["ivr.hold"]["description"] == "Hold music"
    assert "Apply complete" in rerun.summary


def test_no_reviewed_plan_means_nothing_is_applied(repo):
    """A push that is no pull request's merge (or whose plan artifact expired)."""
    git(repo.dev, "checkout", "-q", "main")
    git(repo.dev, "merge", "-q", "--ff-only", "feature")
    repo.push("main")
    sha = repo.origin_head()
    result = repo.push_event(sha)
    assert result.conclusion == "failure"
    assert "is not the merge of a pull request" in result.summary
    assert "<code>+ ivr.hold</code>" in result.summary  # what apply would have done
    assert repo.origin_head() == sha and "hold.wav" not in repo.account_files()


def test_a_failing_plan_says_why_in_the_comment_and_fails_the_job(repo):
    (repo.dev / "audio" / "hold.wav").unlink()  # the PR forgot to add the recording
    repo.commit("hold: recording missing")
    repo.push("feature")
    result = repo.pull_request(7, "feature")
    assert result.conclusion == "failure"
    (comment,) = repo.gh.comments(7)
    assert comment["body"].startswith(PLAN_MARKER + "\n### reconciler plan failed")
    assert "Error: " in comment["body"] and "audio/hold.wav" in comment["body"]
    assert "### reconciler plan failed" in result.summary
    assert repo.gh.state().get("artifacts", []) == []  # no plan to apply after a merge


def test_a_plan_without_changes_applies_and_commits_nothing(repo):
    git(repo.dev, "checkout", "-q", "-b", "comment-only", "main")
    config = repo.dev / "reconciler.toml"
    config.write_text("# prompts of the Acme IVR\n" + config.read_text())
    repo.commit("config: a comment")
    repo.push("comment-only")
    ok(repo.pull_request(8, "comment-only"))
    (comment,) = repo.gh.comments(8)
    assert "No changes" in comment["body"]
    merge_sha = repo.merge(8, "comment-only")
    account_before = repo.account_files()
    applied = ok(repo.push_event(merge_sha))
    assert [c["run"] for c in repo.gh.calls() if c["command"] == "run download"] == [str(repo.runs - 1)]
    assert repo.origin_head() == merge_sha  # no lockfile commit
    assert repo.account_files() == account_before
    assert "No changes" in applied.summary


def test_a_push_race_rebases_the_lockfile_commit(repo):
    """main moved (an unrelated commit) between the merge and the apply's push."""
    ok(repo.pull_request(7, "feature"))
    merge_sha = repo.merge(7, "feature")
    (repo.dev / "NOTES.md").write_text("on-call: Ana\n")
    other = repo.commit("notes")
    repo.push("main")
    ok(repo.push_event(merge_sha))
    head = repo.origin_head()
    assert git(repo.origin, "log", "-1", "--format=%P", head) == other  # rebased on top, nothing lost
    assert git(repo.origin, "log", "-1", "--format=%an <%ae>", head) == BOT
    assert "ivr.hold" in repo.origin_lock()["assets"]


def test_a_lockfile_changed_meanwhile_is_never_lost(repo):
    """The lockfile itself changed on main after the merge: the bot cannot
    merge two lockfiles, so it fails and hands the applied one to a person."""
    ok(repo.pull_request(7, "feature"))
    merge_sha = repo.merge(7, "feature")
    subprocess.run([RECONCILER, "state", "rm", "ivr.welcome"], cwd=repo.dev, check=True, capture_output=True)
    other = repo.commit("forget welcome")
    repo.push("main")
    result = repo.push_event(merge_sha)
    assert result.conclusion == "failure"
    assert repo.origin_head() == other  # nothing half-merged was pushed
    assert "hold.wav" in repo.account_files()  # the providers were changed ...
    assert "the lockfile could not be pushed to main" in result.summary  # ... and the lockfile is handed over
    assert '[assets."ivr.hold"]' in result.summary


def test_a_plan_artifact_from_a_fork_is_never_applied(repo):
    """A fork's pull request runs the fork's workflow files, which could upload
    any file as `reconciler-plan`: apply only takes plans from this repository's runs."""
    repo.gh.head_repository_id = 666
    ok(repo.pull_request(7, "feature"))
    assert len(repo.gh.state()["artifacts"]) == 1
    merge_sha = repo.merge(7, "feature")
    result = repo.push_event(merge_sha)
    assert result.conclusion == "failure"
    assert "No saved plan" in result.summary
    assert not [c for c in repo.gh.calls() if c["command"] == "run download"]
    assert "hold.wav" not in repo.account_files() and repo.origin_head() == merge_sha


def test_plan_run_must_be_a_run_id(repo):
    ok(repo.pull_request(7, "feature"))
    merge_sha = repo.merge(7, "feature")
    result = repo.push_event(merge_sha, **{"plan-run": "1; rm -rf /"})
    assert result.conclusion == "failure"
    assert "plan-run must be a run id" in result.log
    assert "hold.wav" not in repo.account_files()


def test_a_drift_check_that_cannot_run_fails_and_says_why(repo):
    git(repo.dev, "checkout", "-q", "main")
    (repo.dev / "reconciler.toml").write_text("[providers.ivr\n")
    repo.commit("broken config")
    repo.push("main")
    result = repo.drift()
    assert result.conclusion == "failure"
    assert "### reconciler drift failed" in result.summary and "Error: " in result.summary
    assert repo.gh.state().get("issues", []) == []  # an error is not drift: no issue


def test_no_reviewed_plan_but_nothing_to_apply_succeeds(repo):
    """A direct push that changes nothing remote (a comment in the config):
    no plan was reviewed, but a fresh plan has no changes, so there is nothing to refuse."""
    git(repo.dev, "checkout", "-q", "main")
    config = repo.dev / "reconciler.toml"
    config.write_text("# prompts of the Acme IVR\n" + config.read_text())
    sha = repo.commit("config: a comment")
    repo.push("main")
    result = ok(repo.push_event(sha))
    action = next(s for s in result.steps if s.name.endswith("/reconciler@v1"))
    assert action.outputs["exit-code"] == "0" and action.outputs["has-changes"] == "false"
    assert "nothing to apply" in result.summary
    assert repo.origin_head() == sha
