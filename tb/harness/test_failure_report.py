"""A failed cocotb test is reported by name, reason and seed (cocotb's runner, under pytest,
ends with a bare sys.exit(1)): the report is read from cocotb's JUnit results file, which
run_cocotb names itself (under pytest cocotb would name it after the pytest test). The XML
below is cocotb 2.1's: message=str(exception), type=its class, the traceback as text."""

from __future__ import annotations

from tb.harness.sim import _failure_report, failed_cocotb_tests

RESULTS = """<?xml version='1.0' encoding='utf-8'?>
<testsuites name="cocotb tests"><testsuite name="tb.blocks.test_x" tests="3">
<testcase classname="tb.blocks.test_x" name="test_ok" time="1.0"><properties>
<property name="random_seed" value="17" /></properties></testcase>
<testcase classname="tb.blocks.test_x" name="test_bad" time="1.0"><properties>
<property name="random_seed" value="17" /></properties>
<failure message="MESSAGE" type="AssertionError">Traceback (most recent call last):
  File "x.py", line 1, in test_bad
AssertionError: pair 2: back to back 648 cycles, one at a time 640</failure></testcase>
<testcase classname="tb.blocks.test_x" name="test_broken" time="1.0"><properties>
<property name="random_seed" value="17" /></properties>
<error message="" type="RuntimeError">Traceback ...
RuntimeError: could not place an independent instruction</error></testcase>
</testsuite></testsuites>
""".replace("MESSAGE", "pair 2: back to back 648 cycles, one at a time 640&#10;"
            "assert 648 &lt;= 640&#10; +  where 640 = sum([88, 552])")


def test_failed_tests_are_named_with_reason_and_seed(tmp_path):
    xml = tmp_path / "results.xml"
    xml.write_text(RESULTS)
    failures = failed_cocotb_tests(xml)
    assert failures == [
        ("test_bad", "17",
         "AssertionError: pair 2: back to back 648 cycles, one at a time 640"),
        ("test_broken", "17", "RuntimeError: could not place an independent instruction")]
    report = _failure_report(failures, "top_tb", "tiny", tmp_path / "sim.log")
    assert report.splitlines()[0] == "2 cocotb test(s) failed on top_tb (tiny):"
    assert "test_bad: AssertionError: pair 2: back to back" in report
    assert "rerun with SEED=17" in report


def test_no_results_file_reports_nothing(tmp_path):
    assert failed_cocotb_tests(tmp_path / "results.xml") == []
    (tmp_path / "results.xml").write_text("<testsuites")       # cut short by a crash
    assert failed_cocotb_tests(tmp_path / "results.xml") == []
