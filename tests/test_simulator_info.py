"""demo/info.py: the simulator's info document as a contract, and the demo package's independence."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sfdoctor.demo.info import DemoInfo, InfoFormatError
from sfdoctor.demo.scenario import list_builtin
from sfdoctor.demo.server import Simulator

DEMO_DIR = Path(__file__).resolve().parents[1] / "lib" / "sfdoctor" / "demo"


@pytest.mark.parametrize("scenario", [s.name for s in list_builtin()])
def test_every_builtin_worlds_document_round_trips_through_json(scenario):
    info = Simulator(scenario).info()
    assert DemoInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    assert info.marketing_cloud is not None and info.marketing_cloud.account_id > 0


def test_a_wrong_key_is_named_without_its_value():
    document = Simulator("mc-ip-not-allowlisted").info().to_json()
    document["marketing_cloud"]["account_id"] = "510000001"
    with pytest.raises(InfoFormatError, match=r"^info\.marketing_cloud\.account_id: expected an integer, got a string$"):
        DemoInfo.from_json(document)
    document["marketing_cloud"]["account_id"] = 510000001
    document["marketing_cloud"]["users"][0]["password"] = 12345678
    with pytest.raises(InfoFormatError) as exc:
        DemoInfo.from_json(document)
    assert str(exc.value) == "info.marketing_cloud.users[0].password: expected a string, got a number"
    del document["oauth"]
    with pytest.raises(InfoFormatError, match=r"^info\.oauth: missing$"):
        DemoInfo.from_json(document)


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside functions, relative ones resolved."""
    package = "sfdoctor.demo"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found += [f"{module}.{alias.name}" if not node.module else module for alias in node.names]
    return found


def test_the_demo_package_imports_nothing_else_of_sfdoctor():
    outside = {f"{path.name}: {name}" for path in sorted(DEMO_DIR.glob("*.py")) for name in _imports(path)
               if name.startswith("sfdoctor") and not name.startswith("sfdoctor.demo")}
    assert not outside


def test_a_running_simulator_loads_no_other_sfdoctor_module():
    code = ("import sys, requests\n"
            "from sfdoctor.demo.server import Simulator\n"
            "sim = Simulator('mc-ip-not-allowlisted'); url = sim.start()\n"
            "requests.get(url + '/__sfdoctor/info', timeout=10).raise_for_status()\n"
            "requests.get(url + '/services/data/v59.0/', headers={'Host': 'acme.my.salesforce.com'}, timeout=10)\n"
            "sim.stop()\n"
            "print(sorted(m for m in sys.modules if m.startswith('sfdoctor') and not m.startswith('sfdoctor.demo')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['sfdoctor']"
