"""anymail's Postmark backend, able to personalise a batch without a stored template.

Postmark's /email/batch takes up to 500 complete messages, each with its own body; anymail builds
it from one message with several `to`, but refuses `merge_data` unless a stored template renders
it (Postmark substitutes only inside templates). Since the batch is per-message anyway, this
backend substitutes each recipient's merge data into their copy of the body here, before the call:
the one call, each recipient's own links.

It also reads a batch's answer message by message (Postmark answers in the order it was sent):
anymail raises for the whole call when one message has an unexpected error code, which would
lose the ids of the messages Postmark did accept. Here such a message is `failed` and the rest
keep their status. Everything else is anymail's.
"""

from anymail.backends import postmark
from anymail.message import AnymailRecipientStatus

# How a merge field is written in a body sent through this backend ({} is the field's name).
MERGE_FIELD = "%%engage.{}%%"


class PostmarkPayload(postmark.PostmarkPayload):
    def get_api_endpoint(self):
        if self.merge_data and not ("TemplateAlias" in self.data or "TemplateId" in self.data):
            return "email/batch"
        return super().get_api_endpoint()

    def data_for_recipient(self, to):
        data = super().data_for_recipient(to)
        values = data.pop("TemplateModel", None)
        if values and "TemplateAlias" not in data and "TemplateId" not in data:
            for part in ("HtmlBody", "TextBody", "Subject"):
                if part in data:
                    data[part] = _merge(data[part], values)
        return data


def _merge(content: str, values: dict) -> str:
    for name, value in values.items():
        content = content.replace(MERGE_FIELD.format(name), str(value))
    return content


class EmailBackend(postmark.EmailBackend):
    def build_message_payload(self, message, defaults):
        return PostmarkPayload(message, defaults, self)

    def parse_recipient_status(self, response, payload, message):
        if payload.get_api_endpoint() != "email/batch":
            return super().parse_recipient_status(response, payload, message)
        answers = self.deserialize_json_response(response, payload, message)
        if not isinstance(answers, list) or len(answers) != len(payload.to_emails):
            return super().parse_recipient_status(response, payload, message)
        statuses = {}
        for to, answer in zip(payload.to_emails, answers, strict=True):
            code = answer.get("ErrorCode", 0) if isinstance(answer, dict) else -1
            if code == 0:
                delayed = "delivery may be delayed" in answer.get("Message", "")
                status = AnymailRecipientStatus(
                    message_id=answer.get("MessageID"), status="queued" if delayed else "sent"
                )
            elif code == 406:  # inactive: a hard bounce or a complaint at Postmark
                status = AnymailRecipientStatus(message_id=None, status="rejected")
            elif code == 300 and "'To'" in answer.get("Message", ""):
                status = AnymailRecipientStatus(message_id=None, status="invalid")
            else:
                status = AnymailRecipientStatus(message_id=None, status="failed")
            statuses[to.addr_spec] = status
        return statuses
