"""sfdoctor: runnable troubleshooting runbooks for Salesforce-family connection failures."""
from pathlib import Path
import os

__version__ = "0.1.0"


def project_root() -> Path:
    """Where runbooks/ and notebooks/ live: the checkout (editable install) or $SFDOCTOR_HOME."""
    home = os.environ.get("SFDOCTOR_HOME")
    return Path(home).resolve() if home else Path(__file__).resolve().parents[2]
