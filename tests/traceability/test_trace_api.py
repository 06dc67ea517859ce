"""GET /api/v1/batches/<gtin>/<lot>/trace as JSON, CSV and a PDF that is
rendered and read back."""

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.web.helpers import deliver, logged_in
from traceability.pack_states import pack_dispense
from traceability.recalls import recall_issue

pytestmark = pytest.mark.django_db
URL = "/api/v1/batches/09506000134352/A1B2/trace"
PDFTOPPM, PDFTOTEXT = shutil.which("pdftoppm"), shutil.which("pdftotext")


@pytest.fixture
def recalled(batch, manufacturer, distributor, pharmacy):
    deliver(batch, manufacturer, distributor, 8)
    deliver(batch, distributor, pharmacy, 5)
    pack = batch.packs.filter(custodian=pharmacy).first()
    pack_dispense(pharmacy=pharmacy, gtin=pack.gtin, serial=pack.serial)
    return recall_issue(
        issuer=manufacturer, batches=[batch], recall_class="I",
        reason="Particles in capsules", instructions="Quarantine and return.",
    )  # fmt: skip


def test_regulator_traces_a_recalled_batch_as_json(recalled, regulator, pharmacy):
    response = logged_in(regulator).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["batch"]["quantity"] == 10 and body["batch"]["recalled"]
    assert body["recalls"][0]["class"] == "I"
    holders = {h["org"]: h for h in body["holders"]}
    assert holders[pharmacy.name] | {"path": None} == {
        "org": pharmacy.name, "gln": pharmacy.gln, "role": "pharmacy", "on_hand": 4,
        "in_transit": 0, "dispensed": 1, "destroyed": 0, "returned": 0, "quarantined": 0,
        "path": None,
    }  # fmt: skip
    path = holders[pharmacy.name]["path"]
    hops = [(t["from"]["name"], t["to"]["name"], t["units_shipped"]) for t in path]
    assert hops == [
        ("Acme Pharma", "Northern Wholesale", 8),
        ("Northern Wholesale", pharmacy.name, 5),
    ]
    assert all(t["shipped_entries"] and t["received_entries"] for t in path)
    counted = sum(sum(h[k] for k in body["totals"]) for h in body["holders"])
    assert counted + body["unaccounted"] == 10
    assert body["checkpoint"]["size"] > recalled.issued_entry


def test_the_manufacturer_may_trace_its_batch_and_others_get_404(
    batch, manufacturer, distributor, pharmacy
):
    assert logged_in(manufacturer).get(URL).status_code == 200
    for org in (distributor, pharmacy):
        response = logged_in(org).get(URL)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert logged_in(manufacturer).get(URL.replace("A1B2", "NOPE")).status_code == 404


def test_an_unknown_format_is_a_400_naming_the_parameter(batch, regulator):
    response = logged_in(regulator).get(URL, {"format": "xml"})
    assert response.status_code == 400
    assert response.json() == {"error": "format must be json, csv or pdf", "code": "invalid_format"}


def test_the_trace_as_csv_lists_every_holder(recalled, regulator, pharmacy):
    response = logged_in(regulator).get(URL, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:9] == [
        "organisation", "gln", "role", "on_hand", "in_transit", "dispensed", "destroyed",
        "returned", "quarantined",
    ]  # fmt: skip
    pharmacy_row = next(r for r in rows if r[0] == pharmacy.name)
    assert pharmacy_row[3:9] == ["4", "0", "1", "0", "0", "0"]
    assert "Acme Pharma > Northern Wholesale" in pharmacy_row[9]


def test_the_trace_as_pdf_renders_with_summary_tree_holders_and_checkpoint(
    recalled, regulator, pharmacy, tmp_path
):
    response = logged_in(regulator).get(URL, {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = Path(os.environ.get("TRACE_PDF_OUT") or tmp_path) / "trace.pdf"
    pdf.write_bytes(response.content)
    subprocess.run([PDFTOPPM, "-png", "-r", "60", pdf, tmp_path / "page"], check=True)  # noqa: S603
    assert list(tmp_path.glob("page*.png"))
    text = subprocess.run(  # noqa: S603
        [PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Batch trace: lot A1B2 of Amoxicillin 500 mg" in text
    assert "class I by Acme Pharma" in text
    assert "Distribution tree" in text and pharmacy.name in text
    assert "Computed against this signed checkpoint" in text and "\u2014 " in text
