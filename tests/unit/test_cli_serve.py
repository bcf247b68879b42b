"""`fieldacs-engine serve`'s read options: cwmp.gpvBatchSize and partial-path reads."""

from __future__ import annotations

import pytest

from acs_engine.cli import build_parser


def test_serve_reads_by_partial_path_in_batches_of_32_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.gpv_batch_size == 32
    assert args.gpv_partial_path is True


def test_serve_takes_a_batch_size_and_full_names_only() -> None:
    args = build_parser().parse_args(["serve", "--gpv-batch-size", "200", "--no-gpv-partial-path"])
    assert args.gpv_batch_size == 200
    assert args.gpv_partial_path is False


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_a_bad_batch_size_is_refused_with_a_reason(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--gpv-batch-size", bad])
    err = capsys.readouterr().err
    assert "--gpv-batch-size" in err and ("at least 1" in err or "whole number" in err)
