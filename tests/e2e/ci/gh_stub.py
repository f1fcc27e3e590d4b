"""A stand-in for the GitHub CLI (`gh`) in the CI tests: the subset of `gh api`
and `gh run download` that ci/action.sh uses, served from a JSON file instead
of github.com. Every call is appended to calls.jsonl so a test can assert
what would have been posted or downloaded. A call it does not know fails
loudly (exit 1), like a real 404, so an unexpected request breaks the test.

State lives in $GH_STUB_DIR: state.json (comments, pull requests of commits,
artifacts, issues) and artifacts/<run id>/<name>/ (the artifact files).
`--jq` is applied with the real `jq -r` (gh's own jq prints strings raw too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(os.environ["GH_STUB_DIR"])
STATE = ROOT / "state.json"


def load() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def record(entry: dict) -> None:
    with (ROOT / "calls.jsonl").open("a") as fh:
        fh.write(json.dumps(entry) + "\n")


def fail(message: str) -> None:
    print(f"gh: {message}", file=sys.stderr)
    sys.exit(1)


def next_id(state: dict) -> int:
    state["next_id"] = state.get("next_id", 1000) + 1
    return state["next_id"]


def route(state: dict, method: str, path: str, body: dict) -> object:
    url = urlsplit(path.lstrip("/"))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    parts = url.path.split("/")
    repo = "/".join(parts[1:3])
    if parts[0] != "repos" or repo != os.environ.get("GITHUB_REPOSITORY"):
        fail(f"HTTP 404: Not Found ({method} {path})")
    rest = "/".join(parts[3:])
    comments = state.setdefault("comments", {})
    issues = state.setdefault("issues", [])
    base = f"https://github.com/{repo}"

    if m := re.fullmatch(r"issues/(\d+)/comments", rest):
        number = m.group(1)
        if method == "GET":
            return comments.get(number, [])
        if method == "POST":
            cid = next_id(state)
            comment = {"id": cid, "body": body["body"], "html_url": f"{base}/issues/{number}#issuecomment-{cid}"}
            comments.setdefault(number, []).append(comment)
            return comment
    if (m := re.fullmatch(r"issues/comments/(\d+)", rest)) and method == "PATCH":
        for comment in (c for cs in comments.values() for c in cs):
            if comment["id"] == int(m.group(1)):
                comment["body"] = body["body"]
                return comment
        fail(f"HTTP 404: Not Found ({method} {path})")
    if (m := re.fullmatch(r"commits/([0-9a-f]+)/pulls", rest)) and method == "GET":
        return state.get("commit_pulls", {}).get(m.group(1), [])
    if rest == "actions/artifacts" and method == "GET":
        found = [a for a in state.get("artifacts", []) if a["name"] == query.get("name", a["name"])]
        return {"total_count": len(found), "artifacts": sorted(found, key=lambda a: a["created_at"], reverse=True)}
    if rest == "labels" and method == "POST":
        labels = state.setdefault("labels", [])
        if body["name"] in labels:
            fail("HTTP 422: Validation Failed (already_exists)")
        labels.append(body["name"])
        return {"name": body["name"]}
    if rest == "issues" and method == "GET":
        want = query.get("labels")
        return [i for i in issues if i["state"] == query.get("state", "open")
                and (want is None or want in [lb["name"] for lb in i["labels"]])]
    if rest == "issues" and method == "POST":
        number = next_id(state)
        issue = {"number": number, "title": body["title"], "body": body["body"], "state": "open",
                 "labels": [{"name": n} for n in body.get("labels", [])], "html_url": f"{base}/issues/{number}"}
        issues.append(issue)
        return issue
    if (m := re.fullmatch(r"issues/(\d+)", rest)) and method == "PATCH":
        for issue in issues:
            if issue["number"] == int(m.group(1)):
                issue.update(body)
                return issue
    fail(f"HTTP 404: Not Found (gh stub has no route for {method} {path})")
    return None


def api(args: list[str]) -> None:
    method, jq, body, path = None, None, {}, None
    it = iter(args)
    for arg in it:
        if arg in ("-X", "--method"):
            method = next(it)
        elif arg in ("-q", "--jq"):
            jq = next(it)
        elif arg == "--input":
            body = json.loads(Path(next(it)).read_text())
        elif arg in ("-f", "--raw-field", "-F", "--field"):
            key, _, value = next(it).partition("=")
            if arg in ("-F", "--field") and value.startswith("@"):
                value = Path(value[1:]).read_text()
            body[key] = value
        elif arg == "--paginate":
            pass
        elif arg.startswith("-"):
            fail(f"gh stub: unknown flag {arg}")
        else:
            path = arg
    if path is None:
        fail("gh stub: api needs a path")
    method = method or ("POST" if body else "GET")  # gh's rule: parameters make it a POST
    state = load()
    record({"command": "api", "method": method, "path": path, "body": body})
    answer = route(state, method, path, body)
    save(state)
    text = json.dumps(answer)
    if jq is not None:
        text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def run_download(args: list[str]) -> None:
    run_id, name, dest = args[0], None, Path(".")
    it = iter(args[1:])
    for arg in it:
        if arg in ("-n", "--name"):
            name = next(it)
        elif arg in ("-D", "--dir"):
            dest = Path(next(it))
        elif arg in ("-R", "--repo") and next(it) != os.environ.get("GITHUB_REPOSITORY"):
            fail("HTTP 404: Not Found (repository)")
    record({"command": "run download", "run": run_id, "name": name})
    source = ROOT / "artifacts" / run_id / str(name)
    if not source.is_dir():
        fail("no valid artifacts found to download")
    dest.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        shutil.copy(f, dest / f.name)


def main(argv: list[str]) -> None:
    if argv[:1] == ["api"]:
        api(argv[1:])
    elif argv[:2] == ["run", "download"]:
        run_download(argv[2:])
    else:
        record({"command": " ".join(argv)})
        fail(f"gh stub: unsupported command {argv}")


if __name__ == "__main__":
    main(sys.argv[1:])
