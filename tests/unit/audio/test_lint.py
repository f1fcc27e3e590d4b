"""Measurements and lint rules: each rule fires on a crafted signal and stays quiet on a clean one."""

import numpy as np
import pytest
from pydantic import ValidationError

from reconciler.audio.lint import RULES, LintRules, lint
from reconciler.audio.measure import count_clipped_runs, measure_file, measure_samples

from .signals import encode, silence, sine, write

RATE = 16000


def clean(seconds: float = 2.0) -> np.ndarray:
    """A prompt that passes every default rule: ~-19 LUFS, short pads, no DC, no clipping."""
    return np.concatenate([silence(0.1, RATE), sine(700, seconds, RATE, dbfs=-16.0), silence(0.1, RATE)])


def rules_fired(samples, rate=RATE, rules=None, **kw):
    m = measure_samples(samples, rate, **kw)
    return {f.rule: f for f in lint("pbx.welcome", m, rules or LintRules())}


def test_clean_prompt_has_no_findings():
    assert rules_fired(clean()) == {}


def test_clean_prompt_file_round_trip(tmp_path):
    path = write(tmp_path / "ok.wav", clean(), RATE)
    m = measure_file(path)
    assert (m.format, m.encoding, m.sample_rate, m.channels) == ("wav", "pcm_16", RATE, 1)
    assert m.duration == pytest.approx(2.2) and not m.empty and not m.truncated
    assert lint("a", m, LintRules()) == []


def test_clipping_fires_on_flat_tops_not_on_a_full_scale_sine(tmp_path):
    assert count_clipped_runs(sine(1000, 1.0, 48000), 1.0) == 0  # touches full scale, never flat
    x = np.clip(2.0 * sine(200, 1.0, RATE), -1, 1)  # hard clipped: flat tops every half cycle
    path = write(tmp_path / "clip.wav", x, RATE)
    m = measure_file(path)
    assert m.clipped_runs == 400  # 200 Hz: 200 positive + 200 negative flat tops
    f = {f.rule: f for f in lint("pbx.clip", m, LintRules())}["clipping"]
    assert f.severity == "error" and f.value == 400 and f.limit == 0 and f.unit == "runs"
    assert f.address == "pbx.clip" and "400 clipped run" in f.message


def test_clipping_in_ulaw_is_at_ulaw_full_scale(tmp_path):
    x = np.clip(2.0 * sine(200, 1.0, 8000), -1, 1)
    m = measure_file(write(tmp_path / "clip.wav", x, 8000, subtype="ULAW"))
    assert m.clipped_runs >= 390  # µ-law's top code is 32124/32768, not 32767/32768
    m = measure_file(write(tmp_path / "ok.wav", sine(200, 1.0, 8000, dbfs=-1), 8000, subtype="ULAW"))
    assert m.clipped_runs == 0


def test_dc_offset():
    f = rules_fired(clean() + 0.05)["dc_offset"]
    assert f.severity == "warn" and f.value == pytest.approx(0.05, abs=1e-4) and f.limit == 0.01
    assert "dc_offset" not in rules_fired(clean() + 0.005)
    # worst channel, with its sign
    stereo = np.hstack([clean(), clean() - 0.03])
    assert rules_fired(stereo)["dc_offset"].value == pytest.approx(-0.03, abs=1e-4)


def test_leading_and_trailing_silence():
    x = np.concatenate([silence(1.5, RATE), clean(), silence(2.0, RATE)])
    fired = rules_fired(x)
    lead, trail = fired["leading_silence"], fired["trailing_silence"]
    assert lead.value == pytest.approx(1600, abs=1) and lead.limit == 500 and lead.unit == "ms"
    assert trail.value == pytest.approx(2100, abs=1) and trail.limit == 1000
    # -65 dBFS hiss counts as silence (below -60 dBFS); -50 dBFS does not
    hiss = np.concatenate([sine(3000, 1.0, RATE, dbfs=-65), clean()])
    assert "leading_silence" in rules_fired(hiss)
    noise = np.concatenate([sine(3000, 1.0, RATE, dbfs=-50), clean()])
    assert "leading_silence" not in rules_fired(noise)


def test_duration_too_short_and_too_long():
    short = rules_fired(sine(700, 0.05, RATE, dbfs=-16))["duration"]
    assert short.value == pytest.approx(0.05) and short.limit == 0.1 and short.unit == "s"
    long_rules = LintRules.model_validate({"duration": {"max_s": 1.5}})
    long = rules_fired(clean(), rules=long_rules)["duration"]
    assert long.value == pytest.approx(2.2) and long.limit == 1.5 and "exceeds" in long.message


def test_low_sample_rate_is_an_error():
    f = rules_fired(sine(700, 2.0, 4000, dbfs=-16), rate=4000)["sample_rate"]
    assert f.severity == "error" and f.value == 4000 and f.limit == 8000 and f.unit == "Hz"
    assert "sample_rate" not in rules_fired(sine(700, 2.0, 8000, dbfs=-16), rate=8000)


def test_loudness_outside_the_window():
    quiet = rules_fired(sine(1000, 2.0, RATE, dbfs=-30))["loudness"]
    assert quiet.value == pytest.approx(-33.0, abs=0.1) and quiet.limit == -22.0 and quiet.unit == "LUFS"
    assert quiet.message == "integrated loudness -33.0 LUFS is outside -19.0 ± 3.0 LUFS"
    loud = rules_fired(sine(700, 2.0, RATE, dbfs=-8))["loudness"]
    assert loud.limit == -16.0
    silent = rules_fired(silence(1.0, RATE))["loudness"]
    assert silent.value is None and "cannot be measured" in silent.message
    assert "loudness" not in rules_fired(sine(700, 0.2, RATE, dbfs=-40))  # < 400 ms: not measurable


def test_true_peak_above_ceiling():
    f = rules_fired(np.concatenate([clean(), sine(700, 0.2, RATE, dbfs=-0.5)]))["true_peak"]
    assert f.value > -1.0 and f.limit == -1.0 and f.unit == "dBTP" and f.severity == "warn"


def test_empty_header_only_wav(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(encode(np.zeros((0, 1)), 8000))
    m = measure_file(path)
    assert m.empty and m.frames == 0 and m.duration == 0
    findings = lint("pbx.empty", m, LintRules())
    assert [(f.rule, f.severity) for f in findings] == [("empty", "error")]  # nothing else is meaningful


def test_truncated_wav(tmp_path):
    data = encode(clean(), RATE)
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    m = measure_file(path)
    assert m.truncated and not m.empty and m.duration == pytest.approx(1.1, abs=0.01)
    f = {f.rule: f for f in lint("a", m, LintRules())}["truncated"]
    assert f.severity == "error" and "truncated" in f.message


def test_severity_shorthand_off_and_override():
    rules = LintRules.model_validate({"clipping": "warn", "dc_offset": "off",
                                      "loudness": {"severity": "error", "target": -16, "tolerance": 1}})
    x = np.clip(2.0 * sine(200, 1.0, RATE), -1, 1) + 0.02
    fired = rules_fired(x, rules=rules)
    assert fired["clipping"].severity == "warn"
    assert "dc_offset" not in fired
    assert fired["loudness"].severity == "error" and fired["loudness"].limit == -15.0


def test_defaults_match_the_issue():
    r = LintRules()
    assert {n: getattr(r, n).severity for n in RULES} == {
        "empty": "error", "truncated": "error", "clipping": "error", "sample_rate": "error",
        "loudness": "warn", "true_peak": "warn", "leading_silence": "warn", "trailing_silence": "warn",
        "duration": "warn", "dc_offset": "warn"}
    assert (r.loudness.target, r.loudness.tolerance, r.true_peak.max) == (-19.0, 3.0, -1.0)
    assert (r.leading_silence.max_ms, r.trailing_silence.max_ms, r.duration.max_s) == (500, 1000, 300)
    assert r.sample_rate.min_hz == 8000


def test_asset_override_merges_threshold_by_threshold():
    table = LintRules.model_validate({"loudness": {"severity": "error", "tolerance": 2.0}, "clipping": "warn"})
    asset = LintRules.model_validate({"loudness": {"target": -16}})
    merged = asset.merged_over(table)
    assert merged.loudness.severity == "error" and merged.loudness.tolerance == 2.0
    assert merged.loudness.target == -16.0 and merged.clipping.severity == "warn"
    assert merged.dc_offset == LintRules().dc_offset
    # severity shorthand in an override replaces only the severity
    assert LintRules.model_validate({"loudness": "off"}).merged_over(table).loudness.tolerance == 2.0


@pytest.mark.parametrize("bad", [
    {"loudness": "fatal"}, {"nope": "warn"}, {"loudness": {"target": "-19"}}, {"loudness": {"tolerance": -1}},
    {"duration": {"max_s": True}}, {"clipping": {"severity": "error", "max": 3}}, {"true_peak": 5},
])
def test_bad_lint_tables_are_refused(bad):
    with pytest.raises(ValidationError):
        LintRules.model_validate(bad)


def test_findings_carry_the_contract_fields():
    f = rules_fired(sine(700, 2.0, RATE, dbfs=-30))["loudness"]
    assert set(f.model_dump()) == {"address", "rule", "severity", "value", "limit", "unit", "message"}


def test_header_promising_data_that_is_not_there_is_truncated_not_empty(tmp_path):
    data = encode(clean(), RATE)
    path = tmp_path / "hollow.wav"
    path.write_bytes(data[:44])  # the header of a 2.2 s file, no sample data
    m = measure_file(path)
    assert m.empty and m.truncated
    assert [(f.rule, f.severity) for f in lint("a", m, LintRules())] == [("truncated", "error")]


def test_quiet_but_not_silent_audio_below_the_gate():
    f = rules_fired(sine(1000, 1.0, RATE, dbfs=-75))["loudness"]
    assert f.value is None and "-70 LUFS gate" in f.message


def test_lint_file_reports_undecodable_audio_under_truncated(tmp_path):
    from reconciler.audio.lint import lint_file

    data = encode(sine(440, 2.0, RATE, dbfs=-16), RATE, "ogg")
    path = tmp_path / "cut.ogg"
    path.write_bytes(data[: len(data) // 2])
    m, findings = lint_file("pbx.cut", path, LintRules())
    assert m is None
    assert [(f.rule, f.severity, f.address) for f in findings] == [("truncated", "error", "pbx.cut")]
    assert "cannot be decoded" in findings[0].message and "cut.ogg" in findings[0].message
    assert lint_file("a", path, LintRules.model_validate({"truncated": "off"})) == (None, [])
    ok = write(tmp_path / "ok.wav", clean(), RATE)
    m, findings = lint_file("a", ok, LintRules())
    assert m is not None and m.duration == pytest.approx(2.2) and findings == []
