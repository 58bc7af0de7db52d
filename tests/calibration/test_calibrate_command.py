"""`miscope calibrate` usage errors: named, exit 2, nothing trained."""

import pytest

from app.cli.main import main


def test_bad_long_epochs_is_a_usage_error_before_any_training(tmp_path, capsys):
    code = main(["calibrate", "--long-epochs", "0", "--data-dir", str(tmp_path), "--doc", "-"])
    assert code == 2
    assert "epochs must be a positive integer in 1..1,000,000, got 0" in capsys.readouterr().err
    assert not list(tmp_path.rglob("variant.json"))


def test_bad_seed_pair_names_the_value_and_the_form(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "--seeds", "1:x", "--data-dir", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'1:x'" in err and "SEED:DATA_SEED" in err


def test_report_goes_into_the_workspace_unless_an_output_is_asked(tmp_path, capsys):
    common = [
        "calibrate",
        "--no-train",
        "--skip-long",
        "--seeds",
        "7",
        "--data-dir",
        str(tmp_path / "ws"),
    ]
    assert main(common) == 1  # nothing trained: checks 'not run'
    report = tmp_path / "ws" / "reports" / "calibration.md"
    assert f"wrote {report}" in capsys.readouterr().out
    assert "--output" not in report.read_text()
    chosen = tmp_path / "docs" / "calibration.md"
    main([*common, "--output", str(chosen)])
    assert f"--output {chosen}" in chosen.read_text()
