"""Audio lint over a loaded config: each declared asset measured (the rendition
where a recipe is declared, else the file itself) and checked against its
rules (`reconciler.audio.lint`).

A rendition hides some damage of its master — gain and resampling move a
clipped run off full scale — so for a rendition the master is checked too
for broken audio (empty, truncated, clipped): a clipped master stays
distorted whatever the recipe does to it.

`reconciler lint` checks every asset. `validate`, `plan` and `apply` refuse
broken audio on every asset with a local file (the error-level rules empty,
truncated and clipping at their defaults), because a clipped prompt must not
reach a caller whether or not a recipe is declared.
The assets that opted in (an `audio` recipe, a `lint` table on the asset or
its instance, or a top-level `[lint]` table) get their own rules, warnings
included; the others show no warnings, so a config without any of these
plans as it always did unless its audio is broken. The broken-audio check
streams the file in bounded blocks (reconciler.audio.scan: no loudness, no
scipy); only assets with their own rules are measured in full. Scans and
measurements are cached by sha256 under `.reconciler/cache/`, so a no-op plan
decodes nothing again (and `apply` nothing its own plan step already read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ConfigError
from reconciler.inputs import real_path
from reconciler.measurements import MeasurementStore
from reconciler.model import Desired, DesiredAsset, is_content_hash
from reconciler.planner import matches_target
from reconciler.renditions import cache_root

# what a rendition cannot repair: checked on the master as well
MASTER_RULES = ("empty", "truncated", "clipping")
LINT_FORMAT_VERSION = 1


@dataclass
class LintResult:
    findings: list[Any] = field(default_factory=list)  # reconciler.audio.lint.Finding
    # address -> the file measured (relative): every asset for `reconciler lint`, those with findings for the gate
    files: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Any]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Any]:
        return [f for f in self.findings if f.severity == "warn"]


def _label(asset: DesiredAsset, base: Any) -> str:
    if asset.master is not None:
        return f"rendition of {asset.master.file}"
    assert asset.file is not None
    return os.path.relpath(asset.file, base)


def _undecodable(address: str, exc: Any, rules: Any) -> list[Any]:
    """As reconciler.audio.lint.lint_file: audio that cannot be decoded at all is `truncated`."""
    from reconciler.audio.lint import Finding

    rule = "empty" if exc.reason == "empty" else "truncated"
    severity = getattr(rules, rule).severity
    if severity == "off":
        return []
    return [Finding(address=address, rule=rule, severity=severity, value=None, limit=None, unit="",
                    message=f"audio cannot be decoded: {exc}")]


def _measure_findings(address: str, path: Any, sha256: str, rules: Any, store: MeasurementStore) -> list[Any]:
    """Every rule, from the file's full measurements."""
    from reconciler.audio.errors import AudioDecodeError
    from reconciler.audio.lint import lint

    try:
        measured = store.measure(path, sha256)
    except AudioDecodeError as exc:
        return _undecodable(address, exc, rules)
    return lint(address, measured, rules)


def _broken_findings(address: str, scanned: Any, rules: Any) -> list[Any]:
    """The broken-audio rules only (MASTER_RULES), from the file's scan."""
    from reconciler.audio.errors import AudioDecodeError
    from reconciler.audio.lint import lint_broken

    if isinstance(scanned, AudioDecodeError):
        return _undecodable(address, scanned, rules)
    return lint_broken(address, scanned, rules)


def lint_asset(asset: DesiredAsset, rules: Any, store: MeasurementStore, scans: dict[str, Any], *,
               measure: bool) -> list[Any]:
    """An asset's findings: every rule from its file's measurements (`measure`)
    or only the broken-audio rules from its scan; a rendition's master adds the
    broken-audio findings of its own scan. `scans` (sha256 -> ScanFacts or
    AudioDecodeError) holds every file scanned, see `_scans`."""
    assert asset.file is not None
    if measure:
        findings = _measure_findings(asset.address, asset.file, asset.sha256, rules, store)
    else:
        findings = _broken_findings(asset.address, scans[asset.sha256], rules)
    if asset.master is not None:
        master = asset.master
        for finding in _broken_findings(asset.address, scans[master.sha256], rules):
            findings.append(finding.model_copy(update={"message": f"master {master.file}: {finding.message}"}))
    return findings


def _measured(asset: DesiredAsset, everything: bool) -> bool:
    """Whether the asset's file is measured in full (all rules) rather than scanned."""
    return everything or asset.lint is not None


def _scans(assets: list[DesiredAsset], everything: bool, store: MeasurementStore) -> dict[str, Any]:
    """The scans the assets need (files checked for broken audio only, and every
    master), from the index or scanned now, several files at a time."""
    files: dict[str, Any] = {}
    for asset in assets:
        if not _measured(asset, everything):
            files.setdefault(asset.sha256, asset.file)
        if asset.master is not None:
            files.setdefault(asset.master.sha256, asset.master.path)
    return store.scan_many(files) if files else {}


def lint_desired(desired: Desired, *, targets: Sequence[str] = (), everything: bool = True) -> LintResult:
    """Findings for the declared assets. `everything`: every asset with a local
    file, with the default rules where none are declared (`reconciler lint`);
    otherwise (`validate`, `plan`, `apply`) the opted-in assets with their
    rules, and every other asset for broken audio only (error-level empty,
    truncated, clipping at the default rules) — from a streaming scan of the
    file (reconciler.audio.scan), never a whole-file decode."""
    result = LintResult()
    assets = [
        a for a in sorted(desired.all_assets(), key=lambda a: a.address)
        if a.file is not None and is_content_hash(a.sha256) and matches_target(a.address, targets)
    ]
    if not assets:
        return result
    from reconciler.audio.lint import LintRules

    base = real_path(desired.config_path).parent
    store = MeasurementStore.at(cache_root(base))
    scans = _scans(assets, everything, store)
    defaults = LintRules()
    for asset in assets:
        rules = asset.lint if asset.lint is not None else defaults
        found = lint_asset(asset, rules, store, scans, measure=_measured(asset, everything))
        if not everything and asset.lint is None:
            # not opted in: only a damaged file (empty, truncated, clipped), never a
            # matter of taste or of fit (a provider's own checks judge the rate)
            found = [f for f in found if f.severity == "error" and f.rule in MASTER_RULES]
        if everything or found:  # the gate names only the files it refuses or warns about
            result.files[asset.address] = _label(asset, base)
        result.findings += found
    store.flush()
    return result


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:g}" if isinstance(value, int) or float(value).is_integer() else f"{value:.1f}"
    return f"{text} {unit}".strip()


def describe(finding: Any, files: dict[str, str]) -> str:
    """One line naming the asset, its file, the rule, the value and the limit."""
    where = f"{finding.address} ({files[finding.address]})" if finding.address in files else finding.address
    line = f"{where}: {finding.rule}: {finding.message}"
    if finding.value is not None or finding.limit is not None:
        line += f" [value {_amount(finding.value, finding.unit)}, limit {_amount(finding.limit, finding.unit)}]"
    return line


def gate(desired: Desired, *, targets: Sequence[str] = ()) -> LintResult:
    """The lint step of `validate`, `plan` and `apply`: raise ConfigError on an
    error-level finding; add the warnings to their instances' warnings (shown by
    `validate` and in the plan)."""
    result = lint_desired(desired, targets=targets, everything=False)
    if result.errors:
        raise ConfigError(
            f"audio lint: {len(result.errors)} error-level finding(s)",
            file=str(desired.config_path),
            reasons=[describe(f, result.files) for f in result.errors],
            hint="Fix the audio (a new master), or relax the rule in the [lint] table or the asset's "
            "`lint` table (e.g. clipping = \"warn\"); `reconciler lint` lists every finding.",
        )
    for finding in result.warnings:
        instance = desired.instances[finding.address.split(".", 1)[0]]
        instance.warnings.append(f"lint: {describe(finding, result.files)}")
    return result


def lint_document(result: LintResult) -> dict[str, Any]:
    """`reconciler lint --format json`."""
    return {
        "format_version": LINT_FORMAT_VERSION,
        "summary": {"assets": len(result.files), "error": len(result.errors), "warn": len(result.warnings)},
        "findings": [
            {**f.model_dump(mode="json"), "file": result.files.get(f.address)} for f in result.findings
        ],
    }


def lint_text(result: LintResult) -> str:
    lines = [
        f"{'Error' if f.severity == 'error' else 'Warning'}: {describe(f, result.files)}" for f in result.findings
    ]
    n = len(result.files)
    if result.findings:
        lines.append(
            f"Lint: {len(result.errors)} error(s), {len(result.warnings)} warning(s) in {n} asset(s)."
        )
    else:
        lines.append(f"Lint: no findings in {n} asset(s).")
    return "\n".join(lines) + "\n"
