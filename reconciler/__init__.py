"""reconciler: Terraform for telephony audio."""

__version__ = "0.1.0"
