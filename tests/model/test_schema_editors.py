"""The committed JSON Schema as editors read it: check-jsonschema's ECMA-262 regexes, every example record.

check-jsonschema runs as a real process with its default (unicode-mode ECMA-262)
regex engine, the dialect of the JavaScript schema engines in editors.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.core.patterns import accession_regex
from builder.core.settings import ArchiveSettings

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schema" / "study.schema.json"
CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"


def check_jsonschema(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK_JSONSCHEMA, *args], capture_output=True, text=True, timeout=300)


def patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns(value)


def test_the_committed_schema_passes_the_metaschema_check():
    result = check_jsonschema("--check-metaschema", str(SCHEMA))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_metaschema_check_refuses_python_only_escapes(tmp_path):
    """The check can fail: the pattern the schema used to have is not ECMA-262 in unicode mode."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    schema["properties"]["accession"]["pattern"] = r"^OIA\-\d{6}$"
    path = tmp_path / "old.schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    result = check_jsonschema("--check-metaschema", str(path))
    assert result.returncode == 1 and "accession.pattern" in result.stdout


def test_every_example_record_validates_and_a_broken_one_fails(tmp_path):
    records = sorted(REPO.glob("studies/*/study.yaml"))
    assert len(records) >= 3
    result = check_jsonschema("--schemafile", str(SCHEMA), *map(str, records))
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "study.yaml"
    text = records[0].read_text(encoding="utf-8")
    accession = re.search(r"^accession: *(\S+)", text, re.M).group(1)
    broken.write_text(text.replace(f"accession: {accession}", "accession: OIA-００００03", 1), encoding="utf-8")
    result = check_jsonschema("--schemafile", str(SCHEMA), str(broken))
    assert result.returncode == 1 and "accession" in result.stdout


def test_schema_patterns_mean_the_same_in_python():
    """Each pattern compiles in Python and (for the accession) refuses look-alike digits there too."""
    found = list(patterns(json.loads(SCHEMA.read_text(encoding="utf-8"))))
    assert found
    for pattern in found:
        assert "\\d" not in pattern and "\\-" not in pattern, pattern
        re.compile(pattern)
    accession = f"^{accession_regex('OIA-', 6)}$"
    assert accession in found
    assert re.match(accession, "OIA-000003")
    for look_alike in ("OIA-００００03", "OIA-٠٠٠٠٠٣"):
        assert not re.match(accession, look_alike)


@pytest.mark.parametrize("look_alike", ["OIA-００００03", "OIA-٠٠٠٠٠٣", "OIA-00000３"])
def test_look_alike_accessions_are_not_accessions(look_alike):
    settings = ArchiveSettings()
    assert settings.accession_pattern.fullmatch(look_alike) is None
    assert settings.accession_number(look_alike) is None
    assert settings.accession_number("OIA-000003") == 3


def test_prefixes_with_regex_characters_are_escaped_for_both_dialects():
    assert accession_regex("OIA-", 6) == "OIA-[0-9]{6}"
    assert accession_regex("A.B", 2) == r"A\.B[0-9]{2}"
    assert re.fullmatch(accession_regex("A.B", 2), "A.B12") and not re.fullmatch(accession_regex("A.B", 2), "AxB12")
