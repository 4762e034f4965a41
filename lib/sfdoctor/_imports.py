"""Start-up cost we refuse to pay in the process that runs papermill and nbconvert.

Importing nbformat imports jsonschema, whose format checkers import `rfc3987_syntax` when
it is installed (jupyter-events pulls it in). That module compiles ~40 lark grammars at
import time: 2.4 s of a 2.9 s `import nbformat` on our machines — more than a whole
kernel start. nbformat's notebook schema never uses the "iri" formats it serves, so in
sfdoctor's own runner process we make that optional import fail fast; jsonschema already
treats the module as optional (it wraps the import in `suppress(ImportError)`).
This runs in the runner/CLI process only, never in the user's kernel.
"""
from __future__ import annotations

import sys

_OPTIONAL_SLOW = ("rfc3987_syntax", "isoduration")  # isoduration pulls in arrow: ~45 ms more


def skip_slow_optional_imports() -> None:
    for name in _OPTIONAL_SLOW:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
