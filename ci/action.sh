#!/usr/bin/env bash
# The shell behind action.yml (the reconciler GitHub Action). action.yml only
# maps its inputs to INPUT_* variables and calls `action.sh install` and
# `action.sh run`; everything the action does is here, so it can be run
# (and tested) outside GitHub with the same variables GitHub sets:
# GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_REPOSITORY,
# GITHUB_SHA, GITHUB_REF_NAME, GITHUB_RUN_ID, GITHUB_SERVER_URL, RUNNER_TEMP.
# GitHub API calls go through `gh api` (GH_TOKEN); JSON is read with jq
# (both preinstalled on GitHub's runners).
set -euo pipefail

COMMAND=${INPUT_COMMAND:-plan}
CONFIG=${INPUT_CONFIG:-reconciler.toml}
COMMENT=${INPUT_COMMENT:-false}
ARTIFACT=${INPUT_ARTIFACT_NAME:-reconciler-plan}
WORK="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/reconciler"
PLAN_FILE=${INPUT_PLAN_FILE:-$WORK/plan.json}
VENV="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/reconciler-venv"
REPO=${GITHUB_REPOSITORY:-}
RUN_URL="${GITHUB_SERVER_URL:-https://github.com}/$REPO/actions/runs/${GITHUB_RUN_ID:-0}"
BOT_NAME="github-actions[bot]"
BOT_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
# extra command-line words for the reconciler command (split on whitespace)
read -r -a EXTRA <<< "${INPUT_ARGS:-}"

if [ -x "$VENV/bin/reconciler" ]; then
  RECONCILER="$VENV/bin/reconciler"; PYTHON="$VENV/bin/python"
else  # install: false, or run outside the action: whatever is on PATH
  RECONCILER=reconciler; PYTHON=$(dirname "$(command -v reconciler || echo python3)")/python
  [ -x "$PYTHON" ] || PYTHON=python3
fi

output() { printf '%s=%s\n' "$1" "$2" >> "${GITHUB_OUTPUT:-/dev/null}"; }
summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat >> "$GITHUB_STEP_SUMMARY"; else cat > /dev/null; fi; }
# a workflow command is one line: escape % and newlines as GitHub documents
error() { local m="$*"; m=${m//%/%25}; m=${m//$'\n'/%0A}; echo "::error title=reconciler ${COMMAND}::$m" >&2; }
# A file's text as a fenced block for Markdown, cut at $2 bytes (default 20000) so a
# comment stays under GitHub's 65,536 characters (a byte never counts less than a character).
fenced() {
  local limit=${2:-20000} size
  size=$(wc -c < "$1")
  echo '```'; head -c "$limit" "$1"; echo; echo '```'
  if [ "$size" -gt "$limit" ]; then echo "(cut: $((size - limit)) more bytes in the job log)"; fi
}
short() { printf '%.7s' "$1"; }

# --- GitHub API ---------------------------------------------------------------
# Create or update the ONE comment on issue/PR $1 whose body starts with $2.
upsert_comment() {
  local number=$1 marker=$2 body=$3 payload id
  payload=$(mktemp)
  { echo "$marker"; cat "$body"; } | jq -Rs '{body: .}' > "$payload"
  id=$(MARKER="$marker" gh api --paginate "repos/$REPO/issues/$number/comments?per_page=100" \
         --jq '.[] | select(.body | startswith(env.MARKER)) | .id' | sed -n 1p)  # sed reads on: no SIGPIPE
  if [ -n "$id" ]; then
    gh api -X PATCH "repos/$REPO/issues/comments/$id" --input "$payload" --jq .html_url
  else
    gh api -X POST "repos/$REPO/issues/$number/comments" --input "$payload" --jq .html_url
  fi
}

pr_of_event() {
  if [ -n "${INPUT_PR_NUMBER:-}" ]; then echo "$INPUT_PR_NUMBER"; return; fi
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
  jq -r '.pull_request.number // .issue.number // empty' "$GITHUB_EVENT_PATH"
}

# "NUMBER HEAD_SHA" of the pull request merged as commit $1, or nothing.
merged_pr_of() {
  gh api "repos/$REPO/commits/$1/pulls" \
    --jq '([.[] | select(.merged_at != null)][0] // empty) | "\(.number) \(.head.sha)"'
}

# --- commands -----------------------------------------------------------------
cmd_install() {
  if [ "${INPUT_INSTALL:-true}" != true ]; then
    command -v reconciler > /dev/null || { error "install is false but no reconciler is on PATH"; exit 1; }
    echo "Using $(reconciler --version) from PATH"; return
  fi
  python -m venv "$VENV"
  # default: the reconciler of this very action, so `@v1` pins the tool as well
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${INPUT_VERSION:-${GITHUB_ACTION_PATH:?}}"
  "$VENV/bin/reconciler" --version
}

cmd_validate() {
  local code=0
  "$RECONCILER" validate -c "$CONFIG" --no-color "${EXTRA[@]}" || code=$?
  output exit-code "$code"
  return "$code"
}

cmd_plan() {
  mkdir -p "$WORK" "$(dirname "$PLAN_FILE")"
  local code=0 pr url head=""
  if [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ]; then
    head=$(jq -r '.pull_request.head.sha // empty' "$GITHUB_EVENT_PATH")
  fi
  # the CLI appends the Markdown to the job summary itself (see --no-step-summary)
  "$RECONCILER" plan -c "$CONFIG" --format markdown --detailed-exitcode --out "$PLAN_FILE" --no-color \
    "${EXTRA[@]}" > "$WORK/plan.md" 2> "$WORK/plan.err" || code=$?
  cat "$WORK/plan.md"; cat "$WORK/plan.err" >&2
  output exit-code "$code"
  if [ "$code" = 0 ] || [ "$code" = 2 ]; then
    output plan-path "$PLAN_FILE"
    output has-changes "$([ "$code" = 2 ] && echo true || echo false)"
    if [ "${INPUT_UPLOAD_PLAN:-true}" = true ]; then {
      echo
      echo "<sub>Saved plan: artifact \`$ARTIFACT\` of [run ${GITHUB_RUN_ID:-?}]($RUN_URL) for commit $(short "${head:-${GITHUB_SHA:-}}")." \
           "After the merge, apply exactly this plan; it is refused if anything moved in between.</sub>"
    } >> "$WORK/plan.md"; fi
  else
    output has-changes false
    { echo "### reconciler plan failed"; echo; fenced "$WORK/plan.err"; } > "$WORK/plan.md"
    summary < "$WORK/plan.md"
  fi
  pr=$(pr_of_event)
  if [ "$COMMENT" = true ] && [ -n "$pr" ]; then
    url=$(upsert_comment "$pr" "<!-- reconciler-plan config=$CONFIG -->" "$WORK/plan.md")
    output comment-url "$url"
    echo "Plan posted on #$pr: $url"
  fi
  if [ "$code" != 0 ] && [ "$code" != 2 ]; then
    error "reconciler plan failed (exit $code); see the log or the pull-request comment"
    return 1
  fi
}

cmd_drift() {
  mkdir -p "$WORK"
  local code=0 label=reconciler-drift number payload
  "$RECONCILER" drift -c "$CONFIG" --format markdown --no-color "${EXTRA[@]}" > "$WORK/drift.md" 2> "$WORK/drift.err" || code=$?
  cat "$WORK/drift.md"; cat "$WORK/drift.err" >&2
  output exit-code "$code"
  output has-changes "$([ "$code" = 2 ] && echo true || echo false)"
  if [ "$code" != 0 ] && [ "$code" != 2 ]; then
    { echo "### reconciler drift failed"; echo; fenced "$WORK/drift.err"; } | summary
    error "reconciler drift failed (exit $code)"
    return 1
  fi
  if [ "$COMMENT" = true ]; then  # one open issue labelled reconciler-drift while there is drift
    number=$(gh api "repos/$REPO/issues?labels=$label&state=open&per_page=1" --jq '.[0].number // empty')
    payload=$(mktemp)
    if [ "$code" = 2 ]; then
      if [ -n "$number" ]; then
        jq -Rs '{body: .}' < "$WORK/drift.md" > "$payload"
        gh api -X POST "repos/$REPO/issues/$number/comments" --input "$payload" --jq .html_url
      else
        gh api -X POST "repos/$REPO/labels" -f name="$label" -f color=d93f0b \
          -f description="reconciler drift check" > /dev/null 2>&1 || true  # exists already
        jq -Rs --arg name "$label" '{title: "reconciler: provider accounts drifted from the lockfile",
                                     body: ., labels: [$name]}' < "$WORK/drift.md" > "$payload"
        gh api -X POST "repos/$REPO/issues" --input "$payload" --jq .html_url
      fi
    elif [ -n "$number" ]; then
      jq -n --arg body "No drift any more ([run ${GITHUB_RUN_ID:-?}]($RUN_URL))." '{body: $body}' > "$payload"
      gh api -X POST "repos/$REPO/issues/$number/comments" --input "$payload" > /dev/null
      gh api -X PATCH "repos/$REPO/issues/$number" -f state=closed --jq .html_url
    fi
  fi
  if [ "$code" = 2 ] && [ "${INPUT_FAIL_ON_DRIFT:-true}" = true ]; then
    error "drift found: run \`reconciler plan\` to see how apply puts it back"
    return 2
  fi
}

lockfile_path() {
  "$PYTHON" -c 'import sys; from reconciler.state_ops import lockfile_path; print(lockfile_path(sys.argv[1]))' "$CONFIG"
}

digest() { if [ -f "$1" ]; then sha256sum "$1" | cut -d' ' -f1; else echo absent; fi; }

# Commit the lockfile apply wrote and push it, as the bot, without retriggering.
commit_lockfile() {
  local lock=$1 pr=$2 branch=${GITHUB_REF_NAME:?} attempt
  [ "${INPUT_COMMIT_LOCKFILE:-true}" = true ] || return 0
  git add -- "$lock"
  if git diff --cached --quiet -- "$lock"; then return 0; fi
  git -c user.name="$BOT_NAME" -c user.email="$BOT_EMAIL" commit --quiet \
    -m "reconciler: record the apply of ${pr:+#$pr, }$(short "${GITHUB_SHA:-}") [skip ci]" \
    -m "Lockfile written by reconciler apply in $RUN_URL" -- "$lock"
  for attempt in 1 2 3; do
    if git push --quiet origin "HEAD:refs/heads/$branch"; then
      output lockfile-commit "$(git rev-parse HEAD)"
      echo "Committed and pushed $(git rev-parse --short HEAD): the updated lockfile."
      return 0
    fi
    echo "push rejected (attempt $attempt); rebasing on origin/$branch" >&2
    if ! git -c user.name="$BOT_NAME" -c user.email="$BOT_EMAIL" pull --quiet --rebase origin "$branch"; then
      git rebase --abort 2> /dev/null || true
      break  # the lockfile changed on the branch meanwhile: a person must merge the two
    fi
  done
  lockfile_lost "$lock" "$branch"
  return 1
}

# The providers were changed but the lockfile could not be pushed: never lose it.
lockfile_lost() {
  {
    echo "### :x: reconciler apply: the lockfile could not be pushed to $2"
    echo
    echo "The providers WERE changed. Commit this \`$1\` to $2 by hand (merge it with the"
    echo "lockfile there if both changed), before anything else is applied."
    echo
    echo "<details><summary>$1</summary>"; echo; fenced "$1" 900000; echo; echo "</details>"
  } | summary
  error "could not push the lockfile commit to $2; the providers were changed: commit $1 by hand (it is in the job summary)"
}

# The reviewed plan could not be applied: plan afresh, show it, fail.
refuse_and_replan() {
  local reason=$1 pr=$2 fresh="$WORK/fresh-plan.json" code=0 url
  "$RECONCILER" plan -c "$CONFIG" --format markdown --detailed-exitcode --out "$fresh" --no-color \
    --no-step-summary > "$WORK/fresh.md" 2> "$WORK/fresh.err" || code=$?
  cat "$WORK/fresh.err" >&2
  if [ "$code" = 0 ]; then
    echo "::notice title=reconciler apply::$reason — but a fresh plan finds nothing to change, so there is nothing to apply."
    { echo "### reconciler apply: nothing to apply"; echo; echo "$reason"; echo; cat "$WORK/fresh.md"; } | summary
    output exit-code 0
    output has-changes false
    return 0
  fi
  output exit-code 1
  output has-changes false
  {
    echo "### :warning: reconciler apply: the reviewed plan was NOT applied"
    echo
    echo "$reason"
    echo
    echo "Nothing was applied and the lockfile is unchanged. Run: [${GITHUB_RUN_ID:-?}]($RUN_URL), commit $(short "${GITHUB_SHA:-}")."
    echo
    if [ "$code" = 2 ]; then
      echo "Below is what apply would do **now**. Review it; to apply exactly this plan, run the apply" \
           "workflow by hand with \`plan-run: ${GITHUB_RUN_ID:-?}\` (Actions → Run workflow), or open a new pull request."
      echo
      cat "$WORK/fresh.md"
      output plan-path "$fresh"
    else
      echo "A fresh plan failed too:"; echo; fenced "$WORK/fresh.err"
    fi
  } > "$WORK/refused.md"
  summary < "$WORK/refused.md"
  if [ "$COMMENT" = true ] && [ -n "$pr" ]; then
    url=$(upsert_comment "$pr" "<!-- reconciler-apply config=$CONFIG -->" "$WORK/refused.md")
    output comment-url "$url"
    echo "Posted the fresh plan on #$pr: $url"
  fi
  error "the reviewed plan was not applied: $reason"
  return 1
}

cmd_apply() {
  mkdir -p "$WORK" "$(dirname "$PLAN_FILE")"
  local source=${INPUT_PLAN_SOURCE:-merged-pr} lock before code=0 reason="" pr="" head="" run_id="" found url
  lock=$(lockfile_path)
  before=$(digest "$lock")
  case $source in
    fresh)  # no reviewed plan: plan and apply in one go, like `apply --auto-approve`
      "$RECONCILER" apply --auto-approve -c "$CONFIG" --no-color "${EXTRA[@]}" > "$WORK/apply.out" 2> "$WORK/apply.err" || code=$? ;;
    merged-pr|file)
      if [ "$source" = merged-pr ]; then
        local merged
        merged=$(merged_pr_of "${GITHUB_SHA:?}")  # an API failure stops here, loudly
        read -r pr head <<< "$merged" || true
        output pr-number "$pr"
        if [ -n "${INPUT_PLAN_RUN:-}" ]; then
          [[ $INPUT_PLAN_RUN =~ ^[0-9]+$ ]] || { error "plan-run must be a run id (digits), not '$INPUT_PLAN_RUN'"; return 1; }
          run_id=$INPUT_PLAN_RUN
        elif [ -n "$pr" ]; then
          # every page, newest plan run of the head commit first (a re-run of the plan job wins);
          # never a run from a fork: its workflow files are the fork's, so could upload any "plan"
          run_id=$(HEAD_SHA="$head" gh api --paginate "repos/$REPO/actions/artifacts?name=$ARTIFACT&per_page=100" \
            --jq '.artifacts[] | select(.expired | not) | select(.workflow_run.head_sha == env.HEAD_SHA)
                  | select(.workflow_run.head_repository_id == .workflow_run.repository_id)
                  | "\(.created_at) \(.workflow_run.id)"' | sort -r | sed -n 1p | cut -d' ' -f2)
          [ -n "$run_id" ] || reason="No saved plan (artifact \`$ARTIFACT\`) was found for the head commit $(short "$head") of #$pr: the plan job failed or did not run, or the artifact expired."
        else
          reason="Commit $(short "${GITHUB_SHA:-}") is not the merge of a pull request, so no plan was reviewed for it."
        fi
        if [ -n "$run_id" ]; then
          rm -rf "$WORK/download"
          if gh run download "$run_id" -R "$REPO" -n "$ARTIFACT" -D "$WORK/download"; then
            found=$(find "$WORK/download" -type f -name '*.json' | sed -n 1p)
            if [ -n "$found" ]; then cp "$found" "$PLAN_FILE"; echo "Applying the plan saved by run $run_id${pr:+ for #$pr}."
            else reason="The artifact \`$ARTIFACT\` of run $run_id holds no plan file."; fi
          else
            reason="The artifact \`$ARTIFACT\` of run $run_id could not be downloaded."
          fi
        fi
      elif [ ! -f "$PLAN_FILE" ]; then
        reason="There is no plan file at $PLAN_FILE."
      fi
      if [ -z "$reason" ]; then
        "$RECONCILER" apply "$PLAN_FILE" -c "$CONFIG" --no-color "${EXTRA[@]}" > "$WORK/apply.out" 2> "$WORK/apply.err" || code=$?
        if [ "$code" != 0 ] && [ "$(digest "$lock")" = "$before" ]; then
          # refused (stale, edited) or failed before any action: nothing was applied
          cat "$WORK/apply.out"; cat "$WORK/apply.err" >&2
          # short: the comment must also hold the fresh plan (up to 60,000 characters)
          reason="reconciler refused or failed to apply the reviewed plan:
$(fenced "$WORK/apply.err" 3000)"
        fi
      fi ;;
    *) error "plan-source must be merged-pr, file or fresh, not '$source'"; return 1 ;;
  esac
  if [ -n "$reason" ]; then
    refuse_and_replan "$reason" "$pr"
    return $?
  fi
  cat "$WORK/apply.out"; cat "$WORK/apply.err" >&2
  output exit-code "$code"
  output has-changes "$([ "$(digest "$lock")" != "$before" ] && echo true || echo false)"
  {
    echo "### reconciler apply${pr:+ of #$pr}"; echo
    fenced "$WORK/apply.out"
    if [ -s "$WORK/apply.err" ]; then fenced "$WORK/apply.err"; fi
  } > "$WORK/applied.md"
  summary < "$WORK/applied.md"
  # even a failed apply recorded what it did: that lockfile must reach git too
  commit_lockfile "$lock" "$pr"
  if [ "$COMMENT" = true ] && [ -n "$pr" ]; then
    # the apply is done and recorded: a comment that cannot be posted does not undo that
    if url=$(upsert_comment "$pr" "<!-- reconciler-apply config=$CONFIG -->" "$WORK/applied.md"); then
      output comment-url "$url"
    else
      echo "::warning title=reconciler apply::could not comment on #$pr"
    fi
  fi
  if [ "$code" != 0 ]; then
    error "reconciler apply failed (exit $code); the lockfile of what succeeded was committed"
    return 1
  fi
}

case "${1:-run}" in
  install) cmd_install ;;
  run)
    case $COMMAND in
      plan|apply|drift|validate) "cmd_$COMMAND" ;;
      *) error "command must be plan, apply, drift or validate, not '$COMMAND'"; exit 1 ;;
    esac ;;
  *) echo "usage: action.sh install|run" >&2; exit 1 ;;
esac
