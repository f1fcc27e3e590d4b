"""Audio lint: rules over `Measurements`, configured by the `[lint]` table.

Each rule takes a severity string (`"error"`, `"warn"`, `"off"`) or a table
with `severity` and its thresholds. Defaults and their sources:

| rule             | default | threshold                 | why |
|------------------|---------|---------------------------|-----|
| empty            | error   | no audio frames           | broken file (a 44-byte header-only WAV is not a 0 s prompt) |
| truncated        | error   | header promises more data | broken file: the prompt stops mid-word |
| clipping         | error   | max_runs = 0 (runs of >= 3 full-scale samples) | broken audio: distortion no level change repairs |
| sample_rate      | error   | min_hz = 8000             | ITU-T G.711 narrowband telephony samples at 8 kHz; below it even the 300-3400 Hz voice band is lost |
| loudness         | warn    | target = -19.0 LUFS, tolerance = 3.0 LU | measured per ITU-R BS.1770-4; -19 LUFS is AES TD1004's level for mono speech (-16 LUFS stereo, 3 LU lower for mono), and prompts are mono; +-3 LU keeps neighbouring prompts from jumping in level (EBU R 128 itself allows +-1 LU where levels are controlled live) |
| true_peak        | warn    | max = -1.0 dBTP           | EBU R 128 and AES TD1004: 1 dB of headroom for codec overshoot (G.711, MP3) |
| leading_silence  | warn    | max_ms = 500              | taste: half a second of dead air at the start sounds like a dropped call |
| trailing_silence | warn    | max_ms = 1000             | taste: delays the caller's next input |
| duration         | warn    | min_s = 0.1, max_s = 300  | providers cap prompts at a few MB / minutes; under 100 ms is a stub, not a prompt |
| dc_offset        | warn    | max = 0.01 (1 % of full scale) | wastes headroom, clicks when playback starts and stops |

Empty audio suppresses the other rules (nothing else is meaningful about it);
a file whose header promises frames of which none decode is reported as
truncated rather than empty.

This module stays light (pydantic only) so the config can parse `[lint]`
without loading the audio stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:  # measure.py loads numpy/libsndfile; config parsing of [lint] must not
    from reconciler.audio.measure import Measurements
    from reconciler.audio.scan import ScanFacts

RULES = ("empty", "truncated", "clipping", "sample_rate", "loudness", "true_peak",
         "leading_silence", "trailing_silence", "duration", "dc_offset")
Severity = Literal["error", "warn", "off"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    severity: Severity

    @model_validator(mode="before")
    @classmethod
    def _severity_shorthand(cls, data: Any) -> Any:
        # `clipping = "error"` is shorthand for `clipping = { severity = "error" }`
        return {"severity": data} if isinstance(data, str) else data

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_not_bools(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value


class EmptyRule(_Rule):
    severity: Severity = "error"


class TruncatedRule(_Rule):
    severity: Severity = "error"


class ClippingRule(_Rule):
    severity: Severity = "error"
    max_runs: int = Field(default=0, ge=0)


class SampleRateRule(_Rule):
    severity: Severity = "error"
    min_hz: int = Field(default=8000, ge=1)


class LoudnessRule(_Rule):
    severity: Severity = "warn"
    target: float = Field(default=-19.0, ge=-70.0, le=0.0)
    tolerance: float = Field(default=3.0, ge=0.0)


class TruePeakRule(_Rule):
    severity: Severity = "warn"
    max: float = Field(default=-1.0, le=20.0)


class LeadingSilenceRule(_Rule):
    severity: Severity = "warn"
    max_ms: float = Field(default=500.0, ge=0.0)


class TrailingSilenceRule(_Rule):
    severity: Severity = "warn"
    max_ms: float = Field(default=1000.0, ge=0.0)


class DurationRule(_Rule):
    severity: Severity = "warn"
    min_s: float = Field(default=0.1, ge=0.0)
    max_s: float = Field(default=300.0, gt=0.0)


class DcOffsetRule(_Rule):
    severity: Severity = "warn"
    max: float = Field(default=0.01, ge=0.0)


class LintRules(BaseModel):
    """The `[lint]` table, and an asset's `lint = {...}` override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    empty: EmptyRule = EmptyRule()
    truncated: TruncatedRule = TruncatedRule()
    clipping: ClippingRule = ClippingRule()
    sample_rate: SampleRateRule = SampleRateRule()
    loudness: LoudnessRule = LoudnessRule()
    true_peak: TruePeakRule = TruePeakRule()
    leading_silence: LeadingSilenceRule = LeadingSilenceRule()
    trailing_silence: TrailingSilenceRule = TrailingSilenceRule()
    duration: DurationRule = DurationRule()
    dc_offset: DcOffsetRule = DcOffsetRule()

    def _set_keys(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name).model_dump(exclude_unset=True) for name in self.model_fields_set}

    def merged_over(self, base: LintRules) -> LintRules:
        """Keys set here override base's, threshold by threshold: an asset's
        `loudness = { target = -16 }` keeps the [lint] table's severity and tolerance."""
        merged = base._set_keys()
        for name, keys in self._set_keys().items():
            merged[name] = {**merged.get(name, {}), **keys}
        return LintRules.model_validate(merged)


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    rule: str
    severity: Literal["error", "warn"]
    value: float | None
    limit: float | None
    unit: str  # "LUFS", "dBTP", "ms", "s", "Hz", "runs", ""
    message: str


Check = tuple[str, float | None, float | None, str, str]  # (rule, value, limit, unit, message)


def _check_broken(m: Measurements | ScanFacts, rules: LintRules) -> list[Check]:
    """The broken-audio rules (empty, truncated, clipping): what a scan of the
    file (reconciler.audio.scan) or its measurements say alike."""
    out: list[Check] = []
    if m.empty:
        # nothing else is meaningful about no audio; say which kind of nothing
        if m.truncated:
            out.append(("truncated", 0.0, None, "s",
                        "audio is truncated: the header promises audio the file does not hold "
                        "(no frame could be decoded)"))
        else:
            out.append(("empty", 0.0, None, "s",
                        "audio is empty: the file holds no audio frames (a header and nothing else)"))
        return out
    if m.truncated:
        out.append(("truncated", round(m.duration, 3), None, "s",
                    f"audio is truncated: the header promises more audio than the file holds "
                    f"(only {m.duration:.2f} s decoded)"))
    if m.clipped_runs > rules.clipping.max_runs:
        out.append(("clipping", float(m.clipped_runs), float(rules.clipping.max_runs), "runs",
                    f"{m.clipped_runs} clipped run(s) of {3}+ consecutive full-scale samples "
                    f"(allowed: {rules.clipping.max_runs})"))
    return out


def _check(m: Measurements, rules: LintRules) -> list[Check]:
    """(rule, value, limit, unit, message) for every rule the measurements break."""
    out = _check_broken(m, rules)
    if m.empty:
        return out
    r = rules
    if m.sample_rate < r.sample_rate.min_hz:
        out.append(("sample_rate", float(m.sample_rate), float(r.sample_rate.min_hz), "Hz",
                    f"sample rate {m.sample_rate} Hz is below the minimum {r.sample_rate.min_hz} Hz"))
    lo = r.loudness
    if m.loudness is None:
        if m.duration >= 0.4:  # shorter than one BS.1770 block: not measurable, not a fault
            why = ("the audio is digital silence" if m.sample_peak is None
                   else "every 400 ms block is below the -70 LUFS gate of BS.1770")
            out.append(("loudness", None, lo.target, "LUFS",
                        f"integrated loudness cannot be measured: {why}; "
                        f"expected {lo.target:.1f} ± {lo.tolerance:.1f} LUFS"))
    elif abs(m.loudness - lo.target) > lo.tolerance:
        bound = lo.target - lo.tolerance if m.loudness < lo.target else lo.target + lo.tolerance
        out.append(("loudness", m.loudness, round(bound, 2), "LUFS",
                    f"integrated loudness {m.loudness:.1f} LUFS is outside "
                    f"{lo.target:.1f} ± {lo.tolerance:.1f} LUFS"))
    if m.true_peak is not None and m.true_peak > r.true_peak.max:
        out.append(("true_peak", m.true_peak, r.true_peak.max, "dBTP",
                    f"true peak {m.true_peak:.1f} dBTP is above the ceiling {r.true_peak.max:.1f} dBTP"))
    if m.leading_silence > r.leading_silence.max_ms:
        out.append(("leading_silence", m.leading_silence, r.leading_silence.max_ms, "ms",
                    f"leading silence {m.leading_silence:.0f} ms exceeds {r.leading_silence.max_ms:.0f} ms"))
    if m.trailing_silence > r.trailing_silence.max_ms:
        out.append(("trailing_silence", m.trailing_silence, r.trailing_silence.max_ms, "ms",
                    f"trailing silence {m.trailing_silence:.0f} ms exceeds {r.trailing_silence.max_ms:.0f} ms"))
    if m.duration > r.duration.max_s:
        out.append(("duration", m.duration, r.duration.max_s, "s",
                    f"duration {m.duration:.1f} s exceeds {r.duration.max_s:g} s"))
    elif m.duration < r.duration.min_s:
        out.append(("duration", m.duration, r.duration.min_s, "s",
                    f"duration {m.duration:.3f} s is shorter than {r.duration.min_s:g} s"))
    if abs(m.dc_offset) > r.dc_offset.max:
        out.append(("dc_offset", m.dc_offset, r.dc_offset.max, "",
                    f"DC offset {m.dc_offset:+.4f} ({abs(m.dc_offset) * 100:.1f} % of full scale) "
                    f"exceeds {r.dc_offset.max:g}"))
    return out


def lint(address: str, m: Measurements, rules: LintRules) -> list[Finding]:
    """Findings for one asset, in RULES order; rules set to "off" say nothing."""
    return _findings(address, _check(m, rules), rules)


def lint_broken(address: str, m: Measurements | ScanFacts, rules: LintRules) -> list[Finding]:
    """The findings of the broken-audio rules only (empty, truncated, clipping),
    as `lint` would report them: what the gate needs, from a scan."""
    return _findings(address, _check_broken(m, rules), rules)


def _findings(address: str, checks: list[Check], rules: LintRules) -> list[Finding]:
    findings = []
    for rule, value, limit, unit, message in checks:
        severity = getattr(rules, rule).severity
        if severity == "off":
            continue
        findings.append(Finding(address=address, rule=rule, severity=severity, value=value,
                                limit=limit, unit=unit, message=message))
    return findings


def lint_file(address: str, path: Path, rules: LintRules) -> tuple[Measurements | None, list[Finding]]:
    """Measure a file and lint it. A file that cannot be decoded at all (an OGG
    or MP3 cut short, a damaged FLAC: libsndfile cannot open them) has no
    measurements; it is reported under the `truncated` rule, whose job is
    "the audio is not all there", with the decoder's reason in the message."""
    from reconciler.audio.errors import AudioDecodeError
    from reconciler.audio.measure import measure_file

    try:
        m = measure_file(path)
    except AudioDecodeError as exc:
        rule = "empty" if exc.reason == "empty" else "truncated"
        severity = getattr(rules, rule).severity
        if severity == "off":
            return None, []
        return None, [Finding(address=address, rule=rule, severity=severity, value=None, limit=None, unit="",
                              message=f"audio cannot be decoded: {exc}")]
    return m, lint(address, m, rules)
