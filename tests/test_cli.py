"""The ``worldsim`` command line (worldsim.cli.main)."""

import pytest

from worldsim.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("info", "demo", "view", "check", "record", "train", "eval"):
        assert name in out


def test_check_supported_file(asset, capsys):
    assert main(["check", asset("pendulum.xml")]) == 0
    out = capsys.readouterr().out
    assert "nq" in out and "nslot" in out


def test_check_missing_file(tmp_path, capsys):
    missing = tmp_path / "no_such_model.xml"
    code = main(["check", str(missing)])
    assert code != 0
    captured = capsys.readouterr()
    assert str(missing) in captured.out + captured.err


def test_check_unsupported_file(tmp_path, capsys):
    xml = tmp_path / "implicit.xml"
    xml.write_text('<mujoco><option integrator="implicitfast"/><worldbody/></mujoco>')
    assert main(["check", str(xml)]) == 2
    assert "integrator" in capsys.readouterr().err
