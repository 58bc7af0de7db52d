"""Generated service inputs: each is accepted or refused with a clear ValidationError."""

from hypothesis import HealthCheck, given, settings

from benchmarks.reliability_inputs import call_entry, is_clear, main, requests
from miscope_core.families import ValidationError


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
def test_generated_requests_succeed_or_raise_a_clear_validation_error(request, tmp_path):
    try:
        call_entry(request, tmp_path / "workspace")
    except ValidationError as exc:
        assert is_clear(str(exc)), str(exc)
    assert not (tmp_path / "workspace").exists(), "launch cleans its scratch workspace"


def test_battery_section_prints_its_table_and_passes(tmp_path, capsys):
    assert main(["--examples", "40", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| inputs " in out and "|    40 |" in out
    assert "unexpected=0 outside=0" in out
