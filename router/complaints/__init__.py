"""Written complaints: the ``/complaint`` form's complaints stored as contacts (channel
``form``), numbered, routed as complaints and acknowledged with their due date, and a
delay notice when the due date is near and the complaint is still open."""

from router.complaints.desk import NOTICE_EVENT, ComplaintDesk
from router.complaints.notices import NoticeBook, NoticeWatch
from router.complaints.outbox import FormOutbox
from router.complaints.record import AnswerBy, Complaint, Receipt
from router.complaints.texts import describe

__all__ = [
    "NOTICE_EVENT",
    "AnswerBy",
    "Complaint",
    "ComplaintDesk",
    "FormOutbox",
    "NoticeBook",
    "NoticeWatch",
    "Receipt",
    "describe",
]
