"""A failed cocotb test is reported by name, reason and seed (cocotb's runner, under pytest,
ends with a bare sys.exit(1)): the report is read from cocotb's JUnit results file."""

from __future__ import annotations

from tb.harness.sim import _failure_report, failed_cocotb_tests

RESULTS = """<?xml version='1.0' encoding='utf-8'?>
<testsuites name="cocotb tests"><testsuite name="tb.blocks.test_x" tests="3">
<testcase classname="tb.blocks.test_x" name="test_ok" time="1.0"><properties>
<property name="random_seed" value="17" /></properties></testcase>
<testcase classname="tb.blocks.test_x" name="test_bad" time="1.0"><properties>
<property name="random_seed" value="17" /></properties>
<failure message="AssertionError: pair 2: #1 taken only after #0 was done" /></testcase>
<testcase classname="tb.blocks.test_x" name="test_broken" time="1.0"><properties>
<property name="random_seed" value="17" /></properties>
<error message="">Traceback ...
RuntimeError: could not place an independent instruction</error></testcase>
</testsuite></testsuites>
"""


def test_failed_tests_are_named_with_reason_and_seed(tmp_path):
    xml = tmp_path / "results.xml"
    xml.write_text(RESULTS)
    failures = failed_cocotb_tests(xml)
    assert failures == [
        ("test_bad", "17", "AssertionError: pair 2: #1 taken only after #0 was done"),
        ("test_broken", "17", "RuntimeError: could not place an independent instruction")]
    report = _failure_report(failures, "top_tb", "tiny", tmp_path / "sim.log")
    assert report.splitlines()[0] == "2 cocotb test(s) failed on top_tb (tiny):"
    assert "test_bad: AssertionError: pair 2" in report and "rerun with SEED=17" in report


def test_no_results_file_reports_nothing(tmp_path):
    assert failed_cocotb_tests(tmp_path / "results.xml") == []
    (tmp_path / "results.xml").write_text("<testsuites")       # cut short by a crash
    assert failed_cocotb_tests(tmp_path / "results.xml") == []
