"""A customer's data on request: export every contact and message of an account as JSON,
or erase them (texts and addresses replaced, every count the KPIs read kept); both written
to the audit log (the store's events ``privacy_export`` and ``privacy_erase``)."""

from router.errors import NoSuchCustomer, OpenContacts, PrivacyError
from router.privacy.find import contacts_of
from router.privacy.service import (
    AUDIT_KINDS,
    ERASE_KIND,
    ERASED_EVENT,
    ERASED_TEXT,
    EXPORT_KIND,
    KEEP_META,
    Erased,
    Privacy,
)

__all__ = [
    "AUDIT_KINDS",
    "ERASED_EVENT",
    "ERASED_TEXT",
    "ERASE_KIND",
    "EXPORT_KIND",
    "KEEP_META",
    "Erased",
    "NoSuchCustomer",
    "OpenContacts",
    "Privacy",
    "PrivacyError",
    "contacts_of",
]
