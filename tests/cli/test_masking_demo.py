"""No account, payee, customer, card or phone number nor IP in clear where people read a
demo run: alerts, notifications, dead letters, the log and the terminal summary. Decisions
keep the account in clear for the payment pipeline, which is what shows the check can fail."""

from __future__ import annotations

import re

from tests.cli.test_commands import free_port, riskflow

# The simulator's identifiers (simulator/bank.py, sessions.py, scenarios/): accounts
# A0000123, customers C0000123, payees B1234567, mules M900001, devices named after their
# account (A0000123-new1), IPv4 addresses (but the loopback the metrics endpoint is on); and
# card or phone numbers, 11 digits and more.
CLEAR = re.compile(
    r"(?<![\w*])(?:[ABC]\d{7}|M9\d{5})(?!\d)"
    r"|(?<![\w.*])(?!127\.)\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"
    r"|(?<![\w*])\+?\d{11,19}(?!\d)"
)
MASKED = re.compile(r"(?<!\w)[ABM]\*{4}\w{4}")


def test_a_demo_run_names_no_identifier_in_clear_where_people_read_it(tmp_path):
    out = tmp_path / "demo"
    result = riskflow(
        "demo",
        *("--events", "20000", "--customers", "2000", "--malformed-rate", "0.01"),
        *("--out", str(out), "--metrics-port", str(free_port())),
    )
    read = {
        name: (out / f"{name}.jsonl").read_text(encoding="utf-8")
        for name in ("decisions", "alerts", "notifications", "deadletter")
    }
    people = {
        "alerts": read["alerts"],
        "notifications": read["notifications"],
        "dead letters": read["deadletter"],
        "log and summary": result.stdout + result.stderr,
    }
    for where, text in people.items():
        assert text.strip(), f"{where}: nothing to check"
        found = CLEAR.findall(text)
        assert not found, f"{where} names {found[:5]} in clear"
    # The same regex finds what is meant to be in clear, and the masked forms are there.
    assert len(CLEAR.findall(read["decisions"])) > 1000
    assert CLEAR.search((out / "denylist.csv").read_text(encoding="utf-8"))
    assert MASKED.search(read["alerts"]) and MASKED.search(read["notifications"])
    assert '"payload_masked":true' in read["deadletter"]
    assert "DENY_PAYEE" in read["alerts"] and "deny:payee:M****" in read["alerts"]
    assert "throughput" in result.stderr  # the summary was there to be read
